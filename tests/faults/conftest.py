"""The fault-injection suite: the real `stripe` library against the stand-in (in process), and
the real processes of tests/stack.py (the backend killed, the database cut off)."""

from tests.backend.stripe_fixtures import client, front, localstripe, stripe_org  # noqa: F401
