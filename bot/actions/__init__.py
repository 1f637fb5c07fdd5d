"""Custom actions of the assistant, cut by feature. `python -m rasa_sdk --actions bot.actions`
imports every module of this package."""
