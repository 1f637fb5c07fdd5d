"""Custom NLU graph components (loaded by the Rasa server; they import only what Rasa has)."""
