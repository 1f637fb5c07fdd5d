"""The team hears about every crisis answer, without the answer ever waiting for anyone.

The crisis answer (utter_crisis, PRODUCT.md rule 7) is a domain response that Rasa says itself,
so no custom action runs in that turn. This event broker sits inside the Rasa server: the tracker
store (bot/tracker_store.py) hands it the events of each turn as it saves them, before the channel
gets its reply. When it sees utter_crisis it starts a background task that records an urgent
request in the backend (POST /handoffs, topic "crisis") with the kind of risk, the verified
identity and the time, and none of the person's words; publish() itself only schedules it. A
backend that is down or hangs is tried again (tenacity: a short timeout for each attempt, waits
growing to LONGEST_RETRY_SECONDS) with the same `reference` every time, so that an alert whose
answer was lost is recorded once. Until the backend has it, the alert waits in the tracker store's
database (bot/crisis_outbox.py): a Rasa server that starts on that database sends what a stopped
one left.

A configured event broker (endpoints.yml `event_broker`) still gets every event: this one wraps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rasa.core.brokers.broker import EventBroker
from tenacity import (
    AsyncRetrying,
    RetryError,
    before_sleep_log,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_delay,
    wait_exponential,
)

from bot.crisis_outbox import CrisisOutbox
from bot.safety.labels import RISK_KINDS
from contracts.backend_client import BackendClient, BackendError
from contracts.identity import ChatIdentity, from_metadata

log = logging.getLogger(__name__)

CRISIS_ACTION = "utter_crisis"
RISK_KIND_ENTITY = "risk_kind"
ATTEMPT_TIMEOUT_SECONDS = 3.0
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 15.0
GIVE_UP_AFTER_SECONDS = 24 * 3600.0
# The latest user message of this many conversations is kept to explain a crisis answer.
REMEMBERED_CONVERSATIONS = 10_000


@dataclass(frozen=True)
class CrisisAlert:
    identity: ChatIdentity
    risk_kind: str | None
    occurred_at: datetime
    reference: str

    def body(self) -> dict[str, Any]:
        return {"topic": "crisis", "risk_kind": self.risk_kind,
                "occurred_at": self.occurred_at.isoformat(), "reference": self.reference}

    def record(self) -> dict[str, Any]:
        """What the outbox keeps: the body and who it is about."""
        return {**self.body(), "identity": self.identity.metadata()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CrisisAlert | None:
        identity = from_metadata(record.get("identity") or {})
        if identity is None:
            return None
        return cls(identity=identity, risk_kind=record.get("risk_kind"),
                   occurred_at=datetime.fromisoformat(record["occurred_at"]),
                   reference=str(record["reference"]))


def alert_for(sender_id: str, user_event: dict[str, Any] | None,
              crisis_event: dict[str, Any]) -> CrisisAlert | None:
    """The alert for a crisis answer, from the user message it answered; None when the channel
    verified no identity (the team could not reach them)."""
    user_event = user_event or {}
    metadata = user_event.get("metadata")
    identity = from_metadata(metadata) if isinstance(metadata, dict) else None
    if identity is None:
        return None
    timestamp = float(crisis_event.get("timestamp") or time.time())
    reference = hashlib.sha256(f"{sender_id}\n{timestamp!r}".encode()).hexdigest()[:40]
    return CrisisAlert(identity=identity, risk_kind=_risk_kind(user_event),
                       occurred_at=datetime.fromtimestamp(timestamp, tz=timezone.utc),
                       reference=reference)


def _risk_kind(user_event: dict[str, Any]) -> str | None:
    entities = (user_event.get("parse_data") or {}).get("entities") or []
    kinds = [entity.get("value") for entity in entities
             if entity.get("entity") == RISK_KIND_ENTITY and entity.get("value") in RISK_KINDS]
    return kinds[-1] if kinds else None


class CrisisAlertBroker(EventBroker):
    def __init__(self, forward_to: EventBroker | None = None, *,
                 attempt_timeout: float = ATTEMPT_TIMEOUT_SECONDS,
                 give_up_after: float = GIVE_UP_AFTER_SECONDS) -> None:
        self.forward_to = forward_to
        self._attempt_timeout = attempt_timeout
        self._give_up_after = give_up_after
        self._latest_user_event: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._deliveries: set[asyncio.Task[None]] = set()
        self._outbox: CrisisOutbox | None = None
        self._resumed = False

    def keep_pending_in(self, outbox: CrisisOutbox) -> None:
        """Alerts wait in this outbox until recorded; those a stopped server left are sent now
        (or with the first event, when no event loop runs yet)."""
        self._outbox = outbox
        with contextlib.suppress(RuntimeError):  # no running loop: resumed by publish()
            asyncio.get_running_loop()
            self._resume()

    def _resume(self) -> None:
        if self._resumed or self._outbox is None:
            return
        self._resumed = True
        try:
            records = self._outbox.pending()
        except Exception:  # the turn's reply must not fail for it: logged, tried again later
            log.exception("Could not read the crisis alerts left waiting.")
            self._resumed = False
            return
        for record in records:
            alert = CrisisAlert.from_record(record)
            if alert is not None:
                log.info("Crisis alert %s left by a previous server: sending it.",
                         alert.reference[:8])
                self._start(alert)

    def publish(self, event: dict[str, Any]) -> None:
        if self.forward_to is not None:
            self.forward_to.publish(event)
        self._resume()
        sender_id = str(event.get("sender_id"))
        if event.get("event") == "user":
            self._remember(sender_id, event)
        elif event.get("event") == "action" and event.get("name") == CRISIS_ACTION:
            alert = alert_for(sender_id, self._latest_user_event.get(sender_id), event)
            if alert is None:
                log.warning("Crisis answer in a chat with no verified identity: the team "
                            "cannot be told who it was.")
            else:
                self._keep(alert)
                self._start(alert)

    def _keep(self, alert: CrisisAlert) -> None:
        if self._outbox is None:
            return
        try:
            self._outbox.add(alert.reference, alert.record())
        except Exception:  # the crisis answer must not fail for it: sent from memory only
            log.exception("Crisis alert %s not kept in the database: a restart before it is "
                          "recorded would lose it.", alert.reference[:8])

    def is_ready(self) -> bool:
        return self.forward_to.is_ready() if self.forward_to is not None else True

    async def close(self) -> None:
        for task in list(self._deliveries):
            log.error("Shutting down with a crisis alert not yet recorded in the backend "
                      "(kept for the next start if the database has it).")
            task.cancel()
        if self.forward_to is not None:
            await self.forward_to.close()

    async def delivered(self) -> None:
        """Wait for the deliveries under way (for tests)."""
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)

    def _remember(self, sender_id: str, event: dict[str, Any]) -> None:
        self._latest_user_event[sender_id] = event
        self._latest_user_event.move_to_end(sender_id)
        while len(self._latest_user_event) > REMEMBERED_CONVERSATIONS:
            self._latest_user_event.popitem(last=False)

    def _start(self, alert: CrisisAlert) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(alert))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, alert: CrisisAlert) -> None:
        client = BackendClient(alert.identity, timeout_seconds=self._attempt_timeout)
        attempts = AsyncRetrying(
            # Tenacity catches whatever an attempt raises, a shutdown's CancelledError too:
            # retrying that kept the server from ever stopping. Only failures are retried.
            retry=retry_if_exception_type(Exception) & retry_if_not_exception_type(BackendError),
            wait=wait_exponential(multiplier=FIRST_RETRY_SECONDS, max=LONGEST_RETRY_SECONDS),
            stop=stop_after_delay(self._give_up_after),
            before_sleep=before_sleep_log(log, logging.WARNING))
        try:
            async for attempt in attempts:
                with attempt:
                    await client.post("/handoffs", alert.body())
        except BackendError as refusal:
            log.error("The backend refused crisis alert %s: %s", alert.reference[:8], refusal)
        except RetryError:
            # Kept in the outbox: the next server start tries again.
            log.error("Crisis alert %s not recorded: the backend stayed unreachable.",
                      alert.reference[:8])
            return
        else:
            log.info("Crisis alert %s recorded for the team.", alert.reference[:8])
        if self._outbox is not None:
            try:
                self._outbox.remove(alert.reference)
            except Exception:  # sent again at the next start: the backend keeps one per reference
                log.exception("Crisis alert %s recorded but still kept as waiting.",
                              alert.reference[:8])
