"""Payments through the service layer with the offline gateway, on SQLite and PostgreSQL:
the company card, one charge per booking, failures and retries, refunds, events in any order,
notifications and spend reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.adapters.offline_gateway import OfflineGateway
from backend.adapters.payments import ChargeRequest, ChargeResult, PaymentOutcome
from backend.domain.enums import BookingStatus, ChargeStatus, Modality
from backend.domain.errors import PermissionDenied
from backend.models import AuditEvent, Booking, Charge, Organisation
from backend.models.base import utcnow
from backend.services import bookings, notifications, reports
from backend.services.payments import cards, charges, webhooks
from contracts.answers import SpendReport
from tests.backend import booking_factories, factories
from tests.backend.concurrently import all_at_once
from tests.backend.stripe_standins import (
    PayingOrganisation,
    apply_stripe_event,
    event,
    offline_session_id,
    paying_organisation,
)


@pytest.fixture
def org(db, gateway) -> PayingOrganisation:
    return paying_organisation(db, gateway)


def charge_of(db, booking_id: int) -> Charge | None:
    with db.reader() as session:
        return session.scalar(select(Charge).where(Charge.booking_id == booking_id))


def kinds(db, actor) -> list[str]:
    return [note.kind for note in notifications.take_mine(db, actor)]


# --- the company card --------------------------------------------------------------------------


def test_the_card_is_saved_only_when_the_provider_says_so_and_admins_are_told(org):
    db = org.db
    setup = cards.start_card_setup(db, org.gateway, org.admin)
    assert setup.url.startswith("http://backend.test/offline-checkout?session=cs_offline_")
    with db.reader() as session:
        customer = session.get(Organisation, org.organisation_id).stripe_customer_id
    assert customer == f"cus_offline_{org.organisation_id}"
    assert cards.card_on_file(db, org.admin) is None  # asking for a link saves nothing

    completed = org.gateway.complete_setup(offline_session_id(setup.url))
    assert webhooks.apply_event(db, org.gateway, completed).outcome == "applied"
    assert cards.card_on_file(db, org.admin) == cards.Card("visa", "4242", 12,
                                                           utcnow().year + 3)
    assert kinds(db, org.admin) == ["card_saved"]
    assert kinds(db, org.admin) == []  # delivered once


def test_only_the_organisations_admins_handle_its_card(org):
    org.save_offline_card()
    other_admin = factories.register_organisation(org.db, "Globex")
    with pytest.raises(PermissionDenied):
        cards.start_card_setup(org.db, org.gateway, org.member)
    with pytest.raises(PermissionDenied):
        cards.card_on_file(org.db, org.member)
    assert cards.card_on_file(org.db, other_admin) is None


def test_the_newest_card_is_used_whatever_order_the_events_arrive_in(org):
    db, gateway = org.db, org.gateway
    first = cards.start_card_setup(db, gateway, org.admin)
    second = cards.start_card_setup(db, gateway, org.admin)
    older = gateway.complete_setup(offline_session_id(first.url))
    newer = gateway.complete_setup(offline_session_id(second.url), declining=True)
    webhooks.apply_event(db, gateway, newer)
    webhooks.apply_event(db, gateway, older)  # late
    assert cards.card_on_file(db, org.admin).last4 == "0341"


# --- charging ----------------------------------------------------------------------------------


def test_a_confirmed_booking_is_charged_once_on_the_organisations_card(org):
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    first = charges.charge_booking(org.db, org.gateway, booking_id)
    again = charges.charge_booking(org.db, org.gateway, booking_id)
    assert first == again
    assert first.status is ChargeStatus.SUCCEEDED and first.attempt == 1
    assert (first.amount_minor, first.currency) == (8000, "GBP")
    [paid] = org.gateway.payments
    assert paid.idempotency_key == f"booking-{booking_id}-charge-1"
    assert paid.metadata == {"booking_id": str(booking_id),
                             "organisation_id": str(org.organisation_id),
                             "authorisation_id": str(org.offer_id), "charge_attempt": "1"}
    assert charge_of(org.db, booking_id).provider_reference.startswith("pi_offline_")


def test_requested_declined_and_self_paid_bookings_are_never_charged(org):
    org.save_offline_card()
    requested = org.book()
    assert charges.charge_booking(org.db, org.gateway, requested) is None
    bookings.decline(org.db, org.therapist, requested)
    assert charges.settle_booking(org.db, org.gateway, requested) is None
    self_paid = bookings.book(org.db, org.member, therapist_id=org.therapist_id,
                              starts_at=booking_factories.slot(24 * 9), modality=Modality.VIDEO,
                              self_pay=True)
    bookings.confirm(org.db, org.therapist, self_paid.id)
    assert charges.charge_booking(org.db, org.gateway, self_paid.id) is None
    with org.db.reader() as session:
        assert session.scalar(select(func.count(Charge.id))) == 0
    assert org.gateway.payments == []


def test_without_a_card_the_charge_fails_then_is_taken_once_a_card_is_saved(org):
    db = org.db
    booking_id = org.confirmed_booking()
    failed = charges.charge_booking(db, org.gateway, booking_id)
    assert (failed.status, failed.failure_code) == (ChargeStatus.FAILED, "no_card")
    notes = notifications.take_mine(db, org.admin)
    assert [n.kind for n in notes] == ["charge_failed"]
    assert "no company card" in notes[0].text and "Dr" not in notes[0].text
    with db.reader() as session:
        assert session.get(Booking, booking_id).status is BookingStatus.CONFIRMED

    org.save_offline_card()  # the webhook's handler retries what failed
    retried = charges.charge_for_booking(db, booking_id)
    assert (retried.status, retried.attempt) == (ChargeStatus.SUCCEEDED, 2)
    assert [p.idempotency_key for p in org.gateway.payments] == [
        f"booking-{booking_id}-charge-2"]


def test_a_declined_card_is_retried_with_a_new_key_when_the_card_changes(org):
    db = org.db
    org.save_offline_card(declining=True)
    kinds(db, org.admin)
    booking_id = org.confirmed_booking()
    declined = charges.charge_booking(db, org.gateway, booking_id)
    assert (declined.status, declined.failure_code) == (ChargeStatus.FAILED, "card_declined")
    assert kinds(db, org.admin) == ["charge_failed"]
    assert charges.charge_booking(db, org.gateway, booking_id) == declined  # no new attempt

    org.save_offline_card()
    paid = charges.charge_for_booking(db, booking_id)
    assert (paid.status, paid.attempt, paid.failure_code) == (ChargeStatus.SUCCEEDED, 2, None)
    assert kinds(db, org.admin) == ["card_saved"]
    assert len(org.gateway.payments) == 1
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_type == "charge")
                                  .order_by(AuditEvent.id)).all()
    assert actions == ["charge.failed", "charge.retried", "charge.succeeded"]


def test_a_late_cancellation_is_charged_and_a_timely_one_refunded(org):
    db, gateway = org.db, org.gateway
    org.save_offline_card()
    late = org.book(hours_ahead=5)
    bookings.cancel(db, org.member, late)
    assert charges.settle_booking(db, gateway, late).status is ChargeStatus.SUCCEEDED

    in_time = org.confirmed_booking()
    charges.charge_booking(db, gateway, in_time)
    bookings.cancel(db, org.member, in_time)
    refunded = charges.settle_booking(db, gateway, in_time)
    assert refunded.status is ChargeStatus.REFUNDED
    assert charge_of(db, in_time).refund_reference.startswith("re_offline_")
    assert charges.settle_booking(db, gateway, in_time) == refunded  # once


def test_a_therapist_cancelling_or_a_reschedule_gives_the_money_back(org):
    db, gateway = org.db, org.gateway
    org.save_offline_card()
    cancelled = org.confirmed_booking()
    charges.charge_booking(db, gateway, cancelled)
    bookings.cancel_by_therapist(db, org.therapist, cancelled)
    assert charges.settle_booking(db, gateway, cancelled).status is ChargeStatus.REFUNDED

    moved = org.confirmed_booking(hours_ahead=24 * 8)
    charges.charge_booking(db, gateway, moved)
    new = bookings.reschedule(db, org.member, moved, starts_at=booking_factories.slot(24 * 10))
    assert charges.settle_booking(db, gateway, moved).status is ChargeStatus.REFUNDED
    assert charges.settle_booking(db, gateway, new.id) is None  # until it is confirmed
    bookings.confirm(db, org.therapist, new.id)
    assert charges.settle_booking(db, gateway, new.id).status is ChargeStatus.SUCCEEDED


def test_the_same_booking_charged_from_many_threads_is_charged_once(org):
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    all_at_once(
        [lambda: charges.charge_booking(org.db, org.gateway, booking_id)] * 6)
    with org.db.reader() as session:
        assert session.scalar(select(func.count(Charge.id))) == 1
    assert len(org.gateway.payments) == 1
    assert charge_of(org.db, booking_id).status is ChargeStatus.SUCCEEDED


# --- events in any order -----------------------------------------------------------------------


class WebhookFirstGateway(OfflineGateway):
    """Stripe's webhook about a payment arrives before the charging request has recorded what
    Stripe answered it (it does happen: they race)."""

    def __init__(self, db, *, outcome: PaymentOutcome = PaymentOutcome.SUCCEEDED):
        super().__init__(public_base_url="http://backend.test")
        self.db, self.outcome = db, outcome

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = super().charge(request)
        if self.outcome is PaymentOutcome.SUCCEEDED:
            kind, intent = "payment_intent.succeeded", {"status": "succeeded"}
        else:
            kind, intent = "payment_intent.payment_failed", {
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined"}}
        apply_stripe_event(self.db, self, event(kind, {
            **intent, "id": result.reference, "metadata": request.metadata}))
        if self.outcome is PaymentOutcome.SUCCEEDED:
            return result
        return ChargeResult(PaymentOutcome.DECLINED, result.reference, "card_declined")


@pytest.mark.parametrize("outcome", [PaymentOutcome.SUCCEEDED, PaymentOutcome.DECLINED])
def test_a_webhook_racing_the_charging_request_converges_with_one_effect(db, outcome):
    org = paying_organisation(db, WebhookFirstGateway(db, outcome=outcome))
    org.save_offline_card()
    kinds(db, org.admin)
    booking_id = org.confirmed_booking()
    charge = charges.charge_booking(db, org.gateway, booking_id)
    expected = (ChargeStatus.SUCCEEDED if outcome is PaymentOutcome.SUCCEEDED
                else ChargeStatus.FAILED)
    assert charge.status is expected
    with db.reader() as session:
        audited = session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_type == "charge")).all()
    assert audited == [f"charge.{expected.value}"]
    assert kinds(db, org.admin) == ([] if outcome is PaymentOutcome.SUCCEEDED
                                    else ["charge_failed"])


class ProcessingGateway(OfflineGateway):
    """The provider accepts the payment and settles it later, by webhook."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        return ChargeResult(PaymentOutcome.PROCESSING, f"pi_{request.idempotency_key}")


def test_events_in_any_order_and_replayed_leave_the_ledger_in_the_latest_state(db):
    org = paying_organisation(db, ProcessingGateway(public_base_url="http://backend.test"))
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    pending = charges.charge_booking(db, org.gateway, booking_id)
    assert pending.status is ChargeStatus.PENDING
    intent = f"pi_booking-{booking_id}-charge-1"
    metadata = {"booking_id": str(booking_id), "charge_attempt": "1"}
    succeeded = event("payment_intent.succeeded",
                      {"id": intent, "status": "succeeded", "metadata": metadata})
    refunded = event("charge.refunded", {"id": "ch_1", "payment_intent": intent,
                                         "refunded": True, "metadata": {}})
    failed_earlier = event("payment_intent.payment_failed", {
        "id": intent, "status": "requires_payment_method", "metadata": metadata,
        "last_payment_error": {"code": "card_declined"}})

    def handle(evt):
        return apply_stripe_event(db, org.gateway, evt).outcome

    assert handle(refunded) == "applied"  # found by the PaymentIntent the provider named
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.REFUNDED
    assert handle(succeeded) == "applied"
    assert handle(failed_earlier) == "applied"
    assert handle(succeeded) == "duplicate"
    charge = charge_of(db, booking_id)
    assert (charge.status, charge.provider_reference) == (ChargeStatus.REFUNDED, intent)
    stale = event("payment_intent.succeeded", {"id": "pi_other", "status": "succeeded",
                                               "metadata": {**metadata, "charge_attempt": "0"}})
    foreign = event("payment_intent.succeeded", {"id": "pi_x", "status": "succeeded",
                                                 "metadata": {}})
    assert handle(stale) == "applied" and handle(foreign) == "ignored"
    assert charge_of(db, booking_id).status is ChargeStatus.REFUNDED


def test_a_payment_settled_late_by_webhook_ends_up_succeeded(db):
    org = paying_organisation(db, ProcessingGateway(public_base_url="http://backend.test"))
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    charges.charge_booking(db, org.gateway, booking_id)
    apply_stripe_event(db, org.gateway, event("payment_intent.succeeded", {
        "id": f"pi_booking-{booking_id}-charge-1", "status": "succeeded",
        "metadata": {"booking_id": str(booking_id), "charge_attempt": "1"}}))
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.SUCCEEDED


# --- notifications and reports -----------------------------------------------------------------


def test_each_notification_is_handed_out_once_even_to_racing_fetches(org):
    with org.db.transaction() as session:
        for n in range(20):
            notifications.notify_admins(session, org.organisation_id, "test", f"note {n}")
    fetched = all_at_once([lambda: notifications.take_mine(org.db, org.admin)] * 4)
    texts = [note.text for batch in fetched for note in batch]
    assert sorted(texts) == sorted(f"note {n}" for n in range(20))
    assert notifications.take_mine(org.db, org.member) == []  # admins' notes only


def test_spend_report_shows_sums_only_about_enough_people(org):
    # How months and differencing are handled: tests/backend/test_confidentiality.py.
    db, gateway = org.db, org.gateway
    month_ended = (utcnow().replace(day=1) + timedelta(days=32)).replace(day=2)
    org.save_offline_card()
    first = org.confirmed_booking()
    charges.charge_booking(db, gateway, first)
    report = reports.spend(db, org.admin, now=month_ended)
    [offer] = report.by_authorisation
    assert offer.figures is None and "at least 5 people" in offer.withheld_reason
    assert report.by_month == []

    people = [org.member] + [org.another_member() for _ in range(4)]
    for n, person in enumerate(people[1:]):
        charges.charge_booking(db, gateway, org.confirmed_booking(24 * 8 + n, member=person))
    refunded = org.confirmed_booking(24 * 12)
    charges.charge_booking(db, gateway, refunded)
    bookings.cancel(db, org.member, refunded)
    charges.settle_booking(db, gateway, refunded)

    assert reports.spend(db, org.admin).by_month == []  # this month has not ended
    report = reports.spend(db, org.admin, now=month_ended)
    [figures] = report.by_authorisation[0].figures
    assert (figures.currency, figures.sessions_charged, figures.spend_minor) == ("GBP", 6, 48000)
    # The refund is one person's: it is left out, and out of every total.
    assert (figures.sessions_refunded, figures.refunded_minor) == (0, 0)
    assert figures.sessions_unpaid == 0
    [month] = report.by_month
    assert month.figures == report.by_authorisation[0].figures
    with pytest.raises(PermissionDenied):
        reports.spend(db, org.member)
    stranger_admin = factories.register_organisation(db, "Globex")
    assert reports.spend(db, stranger_admin) == SpendReport([], [])
