"""The dispatcher process (`python -m backend dispatch`, `scripts/start.py dispatcher`): pushes
the outbox's deliveries into people's conversations and raises the events that come with time."""
