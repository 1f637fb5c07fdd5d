"""The action server: rasa_sdk's app (bot.actions) behind a check of the caller.

    python -m bot.action_server        (scripts/start.py actions runs it; settings: README)

rasa_sdk checks nobody, and the actions act as whatever identity a tracker names, with the
backend's service credential. So every request but /health must carry the secret Rasa sends
(endpoints.yml: `Authorization: Bearer ${ACTION_SERVER_TOKEN}`); anything else gets 401 before
rasa_sdk reads it. Listens on ACTION_SERVER_HOST (loopback unless told otherwise).
"""

from __future__ import annotations

import hmac
import logging
import os

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from contracts.deployment import require_safe_start
from contracts.settings import SERVER_KEEP_ALIVE_SECONDS, ActionServerSettings

ACTIONS_PACKAGE = "bot.actions"
OPEN_PATHS = frozenset({"/health"})
LOGGING_CONFIG = "logging.yml"
log = logging.getLogger(__name__)


def caller_is_rasa(request: Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode())


def guarded_app(token: str) -> Sanic:
    app = create_app(ACTIONS_PACKAGE, cors_origins=None)
    app.config.KEEP_ALIVE_TIMEOUT = SERVER_KEEP_ALIVE_SECONDS

    @app.on_request
    async def require_rasa(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or caller_is_rasa(request, token):
            return None
        return response.json({"error": "unauthorized",
                              "message": "Calls need the action server's token "
                                         "(Authorization: Bearer $ACTION_SERVER_TOKEN)."},
                             status=401)

    return app


def main() -> None:
    require_safe_start("actions")
    settings = ActionServerSettings.from_environment()
    level = os.environ.get("LOG_LEVEL", "INFO")
    utils.configure_colored_logging(level)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), None,
                                 logging.getLevelName(level), LOGGING_CONFIG)
    utils.update_sanic_log_level()
    if not settings.token:
        log.warning("ACTION_SERVER_TOKEN is not set: every /webhook call is refused.")
    app = guarded_app(settings.token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    log.info("Action endpoint is up and running on http://%s:%s", settings.host, settings.port)
    app.run(settings.host, settings.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
