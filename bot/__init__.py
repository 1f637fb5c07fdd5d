"""The Rasa assistant: domain, training data, NLU components and custom actions."""
