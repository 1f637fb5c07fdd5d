"""Stripe without the internet: localstripe in a subprocess, a small front that adds what
localstripe lacks, and webhook events signed exactly the way Stripe signs them.

The front speaks Stripe's HTTP shape and forwards everything else to localstripe:
- `Idempotency-Key`: the first answer for a key is stored and replayed for every later request
  with that key (`Idempotent-Replayed: true`); concurrent requests with one key are serialised.
- Checkout Sessions in setup mode (`POST/GET /v1/checkout/sessions`), backed by a real
  SetupIntent at localstripe.
- `authentication_required`: a PaymentIntent for a payment method listed in
  `requires_authentication` is answered with HTTP 402 and a card_error, as Stripe does for an
  off-session payment whose bank wants the card holder to authenticate.
- The API version the `stripe` library pins (2026-10-28): `payment_method_types` on a
  PaymentIntent or Checkout Session is refused with Stripe's 400
  (`payment_method_types_no_longer_supported`); `allowed_payment_method_types` is taken, and
  handed to localstripe, which predates it, in the older form.
- `GET /v1/payment_intents/search`: Stripe's search, for the `customer:'c'` and
  `metadata['k']:'v'` clauses joined by AND that the backend sends.
- Faults (`inject`): a request to a path answered 5xx, held past the caller's timeout, or
  carried out and its answer lost (5xx after the upstream did it); `arrived` tells a test that
  a request is being held, to kill the caller at that moment.

`SlowGateway`: the offline provider, slow to charge (repeats arrive while a charge runs).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import aiohttp
from aiohttp import web

from backend.adapters import stripe_events
from backend.adapters.offline_gateway import OfflineGateway
from backend.adapters.payments import ChargeRequest, ChargeResult, PaymentGateway
from backend.db import Database
from backend.domain.enums import Modality
from backend.services import bookings
from backend.services.actors import Actor
from backend.services.payments import cards, charges, webhooks
from tests.backend import booking_factories, factories

API_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_test_standin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"localstripe did not listen on port {port} within {timeout}s")


class LocalStripe:
    """`python -m localstripe` on a free port; stopped by its own pid."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(self.port), "--from-scratch"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(self.port, self.process)
        except Exception:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


REMOVED_PARAMETER = "payment_method_types"
ALLOWED_TYPES = "allowed_payment_method_types"


def _removed_parameter(form: dict[str, str]) -> tuple[int, bytes] | None:
    """Stripe's answer, since API version 2026-09-30, to the parameter it no longer takes."""
    if not any(key.split("[")[0] == REMOVED_PARAMETER for key in form):
        return None
    return 400, json.dumps({"error": {
        "type": "invalid_request_error", "code": "payment_method_types_no_longer_supported",
        "param": REMOVED_PARAMETER,
        "message": "payment_method_types is no longer supported; use "
                   "allowed_payment_method_types or dynamic payment methods."}}).encode()


def _older_form(body: bytes) -> bytes:
    """The request as localstripe (which predates allowed_payment_method_types) takes it."""
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    return urlencode([(REMOVED_PARAMETER + key[len(ALLOWED_TYPES):]
                       if key.split("[")[0] == ALLOWED_TYPES else key, value)
                      for key, value in pairs]).encode()


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {key[len("metadata["):-1]: value for key, value in form.items()
            if key.startswith("metadata[")}


class StripeFront:
    """An aiohttp server in a background thread in front of localstripe."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requires_authentication: set[str] = set()
        self.payment_intents_created = 0  # PaymentIntent creations that reached a card network
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self._replies: dict[str, tuple[int, bytes]] = {}
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._ids = itertools.count(1)
        self.faults: list[Fault] = []
        self.arrived = threading.Event()  # a held request came in
        self.calls: list[str] = []  # "METHOD /path" of every request, in order
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Stripe front did not start")

    # --- lifecycle ---

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create_checkout_session)
        app.router.add_get("/v1/checkout/sessions/{id}", self._get_checkout_session)
        app.router.add_get("/v1/payment_intents/search", self._search_payment_intents)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._session = aiohttp.ClientSession(loop=self._loop)
        self._started.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._session.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- the HTTP shape ---

    async def _upstream(self, method: str, path: str, *, body: bytes = b"",
                        query: str = "") -> tuple[int, bytes]:
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {API_KEY}",
                   "Content-Type": "application/x-www-form-urlencoded"}
        async with self._session.request(method, url, data=body, headers=headers) as reply:
            return reply.status, await reply.read()

    @staticmethod
    def _json(status: int, payload: bytes, *, replayed: bool = False) -> web.Response:
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return web.Response(status=status, body=payload, content_type="application/json",
                            headers=headers)

    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def _fault_for(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and request.method == "POST" and request.path == fault.path:
                fault.times -= 1
                return fault
        return None

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(f"{request.method} {request.path}")
        fault = self._fault_for(request)
        if fault is not None and fault.kind == "error":
            return self._json(fault.status, json.dumps({"error": {
                "type": "api_error", "message": "injected fault"}}).encode())
        if fault is not None and fault.kind in ("hold", "held_dropped"):
            self.arrived.set()
            await asyncio.sleep(fault.seconds)
            if fault.kind == "held_dropped":
                return self._json(fault.status, json.dumps({"error": {
                    "type": "api_error", "message": "injected fault: never done"}}).encode())
        answer = await self._idempotent(request, body)
        if fault is not None and fault.kind == "held_after":
            self.arrived.set()
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "lost":
            return self._json(fault.status, json.dumps({"error": {
                "type": "api_error", "message": "injected fault after the fact"}}).encode())
        return answer

    async def _idempotent(self, request: web.Request, body: bytes) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return self._json(*await self._answer(request, body))
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._replies:
                return self._json(*self._replies[key], replayed=True)
            self._replies[key] = await self._answer(request, body)
            return self._json(*self._replies[key])

    async def _answer(self, request: web.Request, body: bytes) -> tuple[int, bytes]:
        if request.method == "POST" and request.path == "/v1/payment_intents":
            form = _form(body)
            refused = _removed_parameter(form)
            if refused:
                return refused
            body = _older_form(body)
            if form.get("payment_method") in self.requires_authentication:
                return self._authentication_required(form)
            status, payload = await self._upstream("POST", request.path, body=body)
            if status == 200 or status == 402:
                self.payment_intents_created += 1
            return status, payload
        return await self._upstream(request.method, request.path, body=body,
                                    query=request.query_string)

    def _authentication_required(self, form: dict[str, str]) -> tuple[int, bytes]:
        error = {"type": "card_error", "code": "authentication_required",
                 "decline_code": "authentication_required",
                 "message": "Your card was declined. This transaction requires authentication."}
        intent = {
            "id": f"pi_standin_{next(self._ids)}", "object": "payment_intent",
            "amount": int(form["amount"]), "currency": form["currency"],
            "customer": form.get("customer"), "payment_method": None,
            "status": "requires_payment_method", "metadata": _metadata(form),
            "last_payment_error": error,
        }
        return 402, json.dumps({"error": {**error, "payment_intent": intent}}).encode()

    async def _search_payment_intents(self, request: web.Request) -> web.Response:
        wanted = dict(_CLAUSE.findall(request.query.get("query", "")))
        status, payload = await self._upstream("GET", "/v1/payment_intents",
                                               query="limit=100")
        if status != 200:
            return self._json(status, payload)
        found = [intent for intent in json.loads(payload)["data"]
                 if all(_field(intent, name) == value for name, value in wanted.items())]
        return self._json(200, json.dumps({
            "object": "search_result", "url": "/v1/payment_intents/search", "data": found,
            "has_more": False, "next_page": None}).encode())

    async def _create_checkout_session(self, request: web.Request) -> web.Response:
        form = _form(await request.read())
        refused = _removed_parameter(form)
        if refused:
            return self._json(*refused)
        if form.get("mode") != "setup" or not form.get("customer"):
            return self._json(400, json.dumps({"error": {
                "type": "invalid_request_error", "message": "setup mode and customer only"
            }}).encode())
        status, payload = await self._upstream(
            "POST", "/v1/setup_intents",
            body=f"customer={form['customer']}&payment_method_types[0]=card".encode())
        if status != 200:
            return self._json(status, payload)
        session_id = f"cs_test_{secrets.token_hex(8)}"
        session = {
            "id": session_id, "object": "checkout.session", "mode": "setup", "status": "open",
            "customer": form["customer"], "setup_intent": json.loads(payload)["id"],
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
            "metadata": _metadata(form),
        }
        self.checkout_sessions[session_id] = session
        return self._json(200, json.dumps(session).encode())

    async def _get_checkout_session(self, request: web.Request) -> web.Response:
        session = self.checkout_sessions.get(request.match_info["id"])
        if session is None:
            return self._json(404, b'{"error": {"type": "invalid_request_error"}}')
        return self._json(200, json.dumps(session).encode())

    # --- what a person does on the hosted page ---

    def complete_checkout(self, session_id: str, payment_method: str) -> dict[str, Any]:
        """Enter a test card on the hosted page: the SetupIntent is confirmed at localstripe
        and the session completes; returns the checkout.session.completed event."""
        session = self.checkout_sessions[session_id]

        async def confirm() -> tuple[int, bytes]:
            return await self._upstream(
                "POST", f"/v1/setup_intents/{session['setup_intent']}/confirm",
                body=f"payment_method={payment_method}".encode())

        status, payload = asyncio.run_coroutine_threadsafe(confirm(), self._loop).result(10)
        if status != 200:
            raise RuntimeError(f"setup confirmation failed: {status} {payload!r}")
        session["status"] = "complete"
        return event("checkout.session.completed", session)

    def latest_checkout_session(self) -> str:
        return list(self.checkout_sessions)[-1]


# --- webhook events --------------------------------------------------------------------------

_event_ids = itertools.count(1)


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or f"evt_test_{next(_event_ids)}_{secrets.token_hex(4)}",
            "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": obj}}


def apply_stripe_event(db: Database, gateway: PaymentGateway,
                       stripe_event: dict[str, Any]) -> webhooks.EventResult:
    """What the webhook does with a verified Stripe event: the Stripe adapter reads it, the
    service applies the provider-neutral event."""
    return webhooks.apply_event(db, gateway, stripe_events.provider_event(stripe_event))


def sign(payload: str, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(),
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- an organisation that pays for its people's sessions -------------------------------------


@dataclass
class Fault:
    """What the front does to the next `times` POSTs to `path`: "error" (answer `status` without
    doing it), "lost" (do it, then answer `status`: the caller never learns it happened),
    "hold" (wait `seconds` before doing it, as a provider that times out), and, to kill the
    caller while it waits (`arrived` is set): "held_after" (do it, then hold the answer) or
    "held_dropped" (hold, then answer `status` without doing it)."""

    path: str
    kind: str
    times: int = 1
    status: int = 500
    seconds: float = 0.0


_CLAUSE = re.compile(r"(customer|metadata\['[^']+'\]):'([^']*)'")


def _field(intent: dict[str, Any], name: str) -> Any:
    """A search clause's field: `customer` or `metadata['key']`."""
    if name == "customer":
        return intent.get("customer")
    return (intent.get("metadata") or {}).get(name[len("metadata['"):-len("']")])


@dataclass
class PayingOrganisation:
    """An admin, an authorisation, a member with a grant and a therapist (fee 8000 GBP)."""

    db: Database
    gateway: PaymentGateway
    admin: Actor
    offer_id: int
    member: Actor
    therapist_id: int

    @property
    def organisation_id(self) -> int:
        return self.admin.organisation_id

    @property
    def therapist(self) -> Actor:
        return booking_factories.therapist_actor(self.db, self.therapist_id)

    def book(self, hours_ahead: int = 24 * 7, member: Actor | None = None) -> int:
        """Booked `hours_ahead` from now; sooner than a new booking may start, booked at the
        first hour it may and then moved there."""
        wanted = booking_factories.hours_from_now(hours_ahead)
        first = booking_factories.bookable(wanted)
        booking_id = bookings.book(self.db, member or self.member,
                                   therapist_id=self.therapist_id, starts_at=first,
                                   modality=Modality.VIDEO).id
        if first != wanted:
            booking_factories.move_to(self.db, booking_id, wanted)
        return booking_id

    def confirmed_booking(self, hours_ahead: int = 24 * 7, member: Actor | None = None) -> int:
        """Booked and confirmed by the therapist; the charge is what the route triggers next."""
        booking_id = self.book(hours_ahead, member)
        bookings.confirm(self.db, self.therapist, booking_id)
        return booking_id

    def save_offline_card(self, *, declining: bool = False) -> webhooks.EventResult:
        """What an admin does with the offline gateway: ask for the link, press "Save" on its
        card page."""
        setup = cards.start_card_setup(self.db, self.gateway, self.admin)
        completed = self.gateway.complete_setup(offline_session_id(setup.url),
                                                declining=declining)
        return webhooks.apply_event(self.db, self.gateway, completed)

    def settle_as_a_booking_change(self, booking_id: int) -> charges.Settlement | None:
        """What a booking use case does: claim the settlement inside its own transaction,
        complete it after the commit. Returns the claim."""
        with self.db.transaction() as session:
            claim = charges.claim_settlement(session, booking_id)
        charges.complete_settlement(self.db, self.gateway, claim)
        return claim

    def another_member(self) -> Actor:
        return factories.member_with_grant(self.db, self.admin, self.offer_id)[0]


class SlowGateway(OfflineGateway):
    """The offline provider taking `hold` seconds to charge, so that repeats arrive while the
    first charge runs. A test that needs the charge held until it has seen something raises
    `hold`, waits for `charging` and later sets `released`."""

    def __init__(self, hold: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hold = hold
        self.charging = threading.Event()
        self.released = threading.Event()

    def charge(self, request: ChargeRequest) -> ChargeResult:
        self.charging.set()
        self.released.wait(self.hold)
        return super().charge(request)


def paying_organisation(db: Database, gateway: PaymentGateway,
                        user_limit: int = 10) -> PayingOrganisation:
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=user_limit)
    member, _ = factories.member_with_grant(db, admin, offer.id)
    return PayingOrganisation(db, gateway, admin, offer.id, member,
                              booking_factories.therapist(db))


def offline_session_id(url: str) -> str:
    return parse_qs(urlsplit(url).query)["session"][0]
