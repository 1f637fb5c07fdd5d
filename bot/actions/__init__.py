"""Custom actions of the assistant, cut by feature. The action server
(bot/action_server.py) imports every module of this package."""
