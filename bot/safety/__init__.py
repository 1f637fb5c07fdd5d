"""The risk detector (PRODUCT.md rule 7): a classifier trained on bot/safety/data/train.yml,
combined with the lexicon of bot/safety_lexicon.py. Imports scikit-learn, nothing of Rasa."""
