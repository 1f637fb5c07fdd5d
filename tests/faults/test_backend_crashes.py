"""The backend process killed mid-payment and its database cut off, over real processes (the
backend started by scripts/start.py as users start it, the Stripe stand-in holding the request
at the moment of the fault), on SQLite and PostgreSQL. After each, the reconciliation sweep of
the restarted or recovered backend converges: the booking charged exactly what it owes, once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import pytest
import stripe
from sqlalchemy import create_engine, select, text

from backend.adapters.stripe_gateway import StripeGateway
from backend.domain.enums import ChargeStatus
from backend.models import AuditEvent, Charge
from backend.services.payments import charges
from tests.backend.stripe_fixtures import save_card
from tests.backend.stripe_standins import (
    API_KEY,
    WEBHOOK_SECRET,
    Fault,
    LocalStripe,
    PayingOrganisation,
    StripeFront,
    paying_organisation,
)
from tests.conftest import POSTGRES_URL
from tests.faults.money import assert_converged
from tests.stack import Stack

ROLE = f"faults_{uuid.uuid4().hex[:8]}"  # the backend's own PostgreSQL role, to cut it off
SWEEP = {"PENDING_CHARGE_SWEEP_SECONDS": "0.5", "PAYMENT_SWEEP_GRACE_SECONDS": "2",
         "PAYMENT_RETRY_FIRST_SECONDS": "1", "PAYMENT_RETRY_LONGEST_SECONDS": "2",
         "STRIPE_TIMEOUT_SECONDS": "3"}


@pytest.fixture(scope="module")
def standin() -> Iterator[StripeFront]:
    local = LocalStripe()
    front = StripeFront(local.url)
    yield front
    front.stop()
    local.stop()


@pytest.fixture(scope="module")
def client(standin) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": standin.url})


def _admin(sql: str) -> None:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite",
                                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(request, stack_factory, standin) -> Iterator[Stack]:
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": standin.url,
           "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, **SWEEP}
    schema = f"faults_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        _admin(f"CREATE ROLE {ROLE} LOGIN")
        _admin(f'CREATE SCHEMA "{schema}" AUTHORIZATION {ROLE}')
        base = POSTGRES_URL.replace("postgres@", f"{ROLE}@")
        env["DATABASE_URL"] = f"{base}?options=-csearch_path%3D{schema}"
    running = stack_factory(f"faults-money-{request.param}", backend_only=True,
                            backend_env=env)
    if request.param == "postgresql":
        running.database_url = env["DATABASE_URL"]
        # The demo directory is inserted with explicit ids, which leaves PostgreSQL's sequence
        # behind (seen here, left to the seeder's owners): move it past them.
        _admin(f"SELECT setval(pg_get_serial_sequence('\"{schema}\".therapists', 'id'), "
               f'(SELECT max(id) FROM "{schema}".therapists))')
    yield running
    running.stop()
    if request.param == "postgresql":
        _admin(f'DROP SCHEMA "{schema}" CASCADE')
        _admin(f"DROP ROLE {ROLE}")


@pytest.fixture
def org(stack, standin) -> Iterator[PayingOrganisation]:
    db = stack.database()
    gateway = StripeGateway(API_KEY, public_base_url="http://backend.test", api_base=standin.url)
    organisation = paying_organisation(db, gateway)
    save_card(organisation, standin)
    yield organisation
    standin.faults.clear()
    db.dispose()


def confirm_in_background(stack: Stack, org: PayingOrganisation, booking_id: int) -> None:
    """The therapist confirms over HTTP; the answer may never come (the backend is killed)."""
    identity = org.therapist.identity

    def confirm() -> None:
        request = urllib.request.Request(
            f"{stack.backend_url}/therapist/bookings/{booking_id}/confirm", data=b"{}",
            method="POST", headers={"Authorization": f"Bearer {stack.service_token}",
                                    "X-Acting-For": identity,
                                    "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass

    threading.Thread(target=confirm, daemon=True).start()


def until(condition: Callable[[], bool], seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def charge_status(org: PayingOrganisation, booking_id: int) -> ChargeStatus | None:
    charge = charges.charge_for_booking(org.db, booking_id)
    return None if charge is None else charge.status


def audit_actions(org: PayingOrganisation, booking_id: int) -> list[str]:
    with org.db.reader() as session:
        charge_id = session.scalar(select(Charge.id).where(Charge.booking_id == booking_id))
        return list(session.scalars(select(AuditEvent.action)
                                    .where(AuditEvent.subject_type == "charge",
                                           AuditEvent.subject_id == charge_id)))


@pytest.mark.parametrize("kind", ["held_after", "held_dropped"],
                         ids=["killed-after-the-provider-took-it",
                              "killed-before-the-provider-took-it"])
def test_the_backend_killed_mid_charge_is_settled_once_after_its_restart(stack, standin, org,
                                                                         client, kind):
    booking_id = org.book()
    standin.arrived.clear()
    standin.inject(Fault("/v1/payment_intents", kind, 1, seconds=8))
    confirm_in_background(stack, org, booking_id)
    assert standin.arrived.wait(30), "the charge never reached the provider"
    stack.kill("backend")  # the confirmation and its pending charge row are committed
    assert charge_status(org, booking_id) is ChargeStatus.PENDING

    stack.restart_backend()
    assert until(lambda: charge_status(org, booking_id) is ChargeStatus.SUCCEEDED), \
        stack.log("backend")[-3000:]
    assert_converged(client, org, booking_id)
    if kind == "held_after":  # the lost answer was found at the provider, not guessed
        assert "charge.found_at_provider" in audit_actions(org, booking_id)


def test_a_database_cut_off_while_the_provider_answers_converges_once_it_is_back(
        stack, standin, org, client):
    booking_id = org.book()
    standin.arrived.clear()
    standin.inject(Fault("/v1/payment_intents", "hold", 1, seconds=2))
    confirm_in_background(stack, org, booking_id)
    assert standin.arrived.wait(30)
    with database_unavailable(stack, seconds=6):
        time.sleep(3)  # the provider answers meanwhile; recording it fails or waits
    assert until(lambda: charge_status(org, booking_id) is ChargeStatus.SUCCEEDED), \
        stack.log("backend")[-3000:]
    assert_converged(client, org, booking_id)


class database_unavailable:  # a context manager, named for `with`
    """PostgreSQL: the backend's role may not log in and its connections are terminated.
    SQLite: another connection holds the file's exclusive lock."""

    def __init__(self, stack: Stack, seconds: float) -> None:
        self.stack = stack
        self.seconds = seconds
        self._lock: sqlite3.Connection | None = None

    def __enter__(self) -> None:
        if self.stack.database_url.startswith("sqlite"):
            self._lock = sqlite3.connect(self.stack.database_url.removeprefix("sqlite:///"),
                                         isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")
        else:
            _admin(f"ALTER ROLE {ROLE} NOLOGIN")
            _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   f"WHERE usename = '{ROLE}'")
        self._started = time.monotonic()

    def __exit__(self, *_: object) -> None:
        time.sleep(max(0.0, self.seconds - (time.monotonic() - self._started)))
        if self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
        else:
            _admin(f"ALTER ROLE {ROLE} LOGIN")
