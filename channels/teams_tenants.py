"""Which Microsoft Teams tenants the channel serves: those an organisation connected.

An organisation's admin connects its tenant from the portal ("Connect Microsoft Teams",
Microsoft's admin consent). For each message the channel asks the backend whether the tenant is
connected (GET /teams/tenants/<tenant>, with the service credential, as the person speaking) and
keeps the answer TEAMS_TENANT_CACHE_SECONDS. When the backend cannot be asked, the last answer
known is used, else the message is let through (the backend, once back, still recognises nobody
of a tenant it does not know). TEAMS_ALLOWED_TENANTS, when set, is the operator's restriction on
top: a tenant outside it is not served even when connected.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from contracts.backend_client import BackendClient, BackendError, BackendUnavailable
from contracts.identity import teams
from contracts.settings import BackendSettings, TeamsSettings

log = logging.getLogger(__name__)

# What a person of a tenant no organisation connected is told (nothing else is done for them,
# unless what they wrote suggests a risk to someone's safety: that reaches the bot's crisis
# answer, as from anyone).
NOT_CONNECTED = (
    "Your organisation hasn't connected Microsoft Teams to this service yet, so I can't help "
    "you here. Your organisation's admin can connect it from the portal: sign in, then "
    "\"Connect Microsoft Teams\". If you need help urgently, call 999, or Samaritans on "
    "116 123 (free, any time).")
NOT_SERVED = (
    "This service isn't available to your organisation in Microsoft Teams. Please ask your "
    "organisation's admin. If you need help urgently, call 999, or Samaritans on 116 123 "
    "(free, any time).")


@dataclass
class _Known:
    connected: bool
    until: float


class Tenants:
    def __init__(self, settings: TeamsSettings, backend: BackendSettings | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self._known: dict[str, _Known] = {}

    async def refusal(self, tenant_id: str | None, aad_object_id: str) -> str | None:
        """What to tell someone of this tenant instead of serving them, or None: served."""
        if not tenant_id or not self.settings.tenant_allowed(tenant_id):
            return NOT_SERVED
        return None if await self.connected(tenant_id, aad_object_id) else NOT_CONNECTED

    async def connected(self, tenant_id: str, aad_object_id: str) -> bool:
        known = self._known.get(tenant_id)
        if known is not None and known.until > time.monotonic():
            return known.connected
        try:
            answer = await BackendClient(teams(tenant_id, aad_object_id),
                                         self.backend).teams_tenant(tenant_id)
            connected = answer.connected
        except BackendError as refused:
            log.error("The backend refused to say whether Teams tenant %s is connected: %s",
                      tenant_id, refused.code)
            return known.connected if known else False
        except BackendUnavailable as error:
            log.warning("Could not ask the backend whether Teams tenant %s is connected (%s); "
                        "using the last answer known", tenant_id, error)
            return known.connected if known else True
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[tenant_id] = _Known(connected, time.monotonic()
                                        + self.settings.tenant_cache_seconds)
        return connected
