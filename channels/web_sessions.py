"""Whether the portal session a widget's identity token names still holds.

Signing out of the portal ends the session in the backend; the webchat channel asks
GET /web-sessions/<id> (as the member the token names) before each message and, for every open
socket, every WEB_SESSION_CHECK_SECONDS, and closes the sockets of an ended session. A backend
that cannot be asked does not silence the chat (a crisis message must still be answered): the
answer is then "still holds", logged, until the backend answers again.
"""

from __future__ import annotations

import logging

from contracts.backend_client import BackendClient, BackendError, BackendUnavailable
from contracts.identity import ChatIdentity
from contracts.settings import BackendSettings

log = logging.getLogger(__name__)


class SessionCheck:
    def __init__(self, settings: BackendSettings | None = None) -> None:
        self.settings = settings

    async def holds(self, identity: ChatIdentity, session_id: str) -> bool:
        client = BackendClient(identity, self.settings)
        try:
            answer = await client.get(f"/web-sessions/{session_id}")
        except BackendUnavailable:
            log.warning("webchat: could not ask whether a portal session holds; assuming so")
            return True
        except BackendError as refused:
            log.info("webchat: the backend refused a session check (%s)", refused.code)
            return False
        return isinstance(answer, dict) and answer.get("active") is True
