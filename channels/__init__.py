"""Connectors Rasa loads (input channels) and what they share: redaction of card numbers."""
