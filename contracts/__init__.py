"""What the backend, the action server and the Rasa server agree on, in plain Python.

Imported by all three processes: the Rasa server's environment has pydantic 1 and the others
pydantic 2, so nothing here imports pydantic, Rasa, Sanic or SQLAlchemy (only PyJWT and aiohttp,
which both environments have).
"""
