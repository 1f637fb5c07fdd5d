"""The dispatcher's loop: claim due deliveries, push each one, record the outcome; now and then
raise the events that come with time (reminders, unanswered requests: services/outbox/schedule).

Several dispatchers may run: each claims with a lease (services/outbox/deliveries.py), so a push
is made by one of them at a time, and one killed mid-push is taken over when its lease ends. A
push whose earlier attempt may have reached the conversation is first looked for in the tracker
(backend/dispatcher/rasa.py), and the channel drops a push key it has sent (channels/push.py):
each delivery reaches the person once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from backend.clock import Clock
from backend.db import Database
from backend.dispatcher.rasa import DeliveryError, RasaConversations, Undeliverable
from backend.services.outbox import deliveries
from backend.services.outbox.deliveries import Push, RetryPolicy

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, db: Database, conversations: RasaConversations, clock: Clock, *,
                 worker: str, lease_seconds: float, retry: RetryPolicy,
                 poll_seconds: float = 1.0, schedule: Callable[[datetime], int] | None = None,
                 schedule_seconds: float = 60) -> None:
        self.db = db
        self.conversations = conversations
        self.clock = clock
        self.worker = worker
        self.lease_seconds = lease_seconds
        self.retry = retry
        self.poll_seconds = poll_seconds
        self.schedule = schedule
        self.schedule_seconds = schedule_seconds
        self._next_schedule = 0.0

    async def deliver_due(self) -> int:
        """Claim what is due and push it; returns how many were claimed."""
        claimed = await asyncio.to_thread(deliveries.claim_due, self.db, self.clock.now(),
                                          self.worker, self.lease_seconds)
        await asyncio.gather(*(self.deliver(push) for push in claimed))
        return len(claimed)

    async def deliver(self, push: Push) -> None:
        try:
            if push.may_have_been_sent and await self.conversations.already_pushed(push):
                log.info("delivery %s was already in the conversation", push.delivery_id)
            else:
                await self.conversations.push(push)
        except DeliveryError as error:
            state = await asyncio.to_thread(
                partial(deliveries.mark_failed, self.db, push, self.worker, self.clock.now(),
                        str(error), self.retry, final=isinstance(error, Undeliverable)))
            log.warning("delivery %s (attempt %d) failed, now %s: %s", push.delivery_id,
                        push.attempt, state.value, error)
            return
        await asyncio.to_thread(deliveries.mark_delivered, self.db, push.delivery_id,
                                self.worker, self.clock.now())
        log.info("delivered %s (%s) to %s", push.delivery_id, push.kind, push.identity)

    async def raise_scheduled_events(self) -> None:
        loop = asyncio.get_running_loop()
        if self.schedule is None or loop.time() < self._next_schedule:
            return
        self._next_schedule = loop.time() + self.schedule_seconds
        try:
            raised = await asyncio.to_thread(self.schedule, self.clock.now())
        except Exception:
            log.exception("raising the scheduled notifications failed")
            return
        if raised:
            log.info("raised %d scheduled notifications", raised)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.raise_scheduled_events()
                claimed = await self.deliver_due()
            except Exception:
                log.exception("dispatching failed; trying again")
                claimed = 0
            if claimed:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
