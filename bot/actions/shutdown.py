"""Closes the backend client's shared connection pool when the action server stops.

rasa_sdk has no shutdown hook of its own, but it imports this package while it creates its Sanic
app (named "rasa_sdk"), so the app can be found by name here. Imported anywhere else (tests),
there is no such app and nothing is registered.
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic
from sanic.exceptions import SanicException

from contracts.backend_client import close_shared_session

ACTION_SERVER_APP = "rasa_sdk"


async def _close(*_: Any) -> None:
    await close_shared_session()


def close_at_shutdown() -> bool:
    try:
        app = Sanic.get_app(ACTION_SERVER_APP)
    except SanicException:
        return False
    app.register_listener(_close, "after_server_stop")
    return True


close_at_shutdown()
