"""The real `stripe` library against localstripe (plus the front in stripe_standins for what
localstripe lacks): customer, card setup, charge, decline, authentication_required, refund,
idempotent retries, and concurrent charging on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select, update

from backend.adapters.payments import ChargeRequest, PaymentOutcome
from backend.domain.enums import ChargeStatus
from backend.models import Charge, Organisation, PaymentCard
from backend.models.base import utcnow
from backend.services import bookings, notifications
from backend.services.payments import cards, charges, reconciliation
from tests.backend.concurrently import all_at_once
from tests.backend.stripe_fixtures import intents_for, save_card
from tests.backend.stripe_standins import PayingOrganisation, apply_stripe_event, event


@pytest.fixture
def org(stripe_org) -> PayingOrganisation:
    return stripe_org


def test_card_setup_then_a_charge_on_stripe(org, front, client):
    db = org.db
    method = save_card(org, front)
    with db.reader() as session:
        customer_id = session.get(Organisation, org.organisation_id).stripe_customer_id
    customer = client.v1.customers.retrieve(customer_id)
    assert customer.metadata["organisation_id"] == str(org.organisation_id)
    checkout = front.checkout_sessions[front.latest_checkout_session()]
    assert (checkout["mode"], checkout["customer"]) == ("setup", customer_id)
    assert checkout["success_url"].startswith("http://backend.test/card-setup/finished")
    assert cards.card_on_file(db, org.admin) == cards.Card("visa", "4242", 12, 2030)

    booking_id = org.confirmed_booking()
    charge = charges.charge_booking(db, org.gateway, booking_id)
    assert charge.status is ChargeStatus.SUCCEEDED
    [intent] = intents_for(client, org, booking_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 8000, "gbp")
    assert (intent.customer, intent.payment_method) == (customer_id, method)
    assert intent.metadata.to_dict() == {
        "booking_id": str(booking_id), "organisation_id": str(org.organisation_id),
        "authorisation_id": str(org.offer_id), "charge_attempt": "1"}
    with db.reader() as session:
        assert session.scalar(select(Charge.provider_reference)
                              .where(Charge.booking_id == booking_id)) == intent.id


def test_the_pinned_api_version_refuses_payment_method_types(org, front, client):
    """Stripe's answer since 2026-09-30, which the front gives too: the gateway sends the
    allowed types instead (the test above charges through it)."""
    for create, params in ((client.v1.payment_intents.create,
                            {"amount": 100, "currency": "gbp"}),
                           (client.v1.checkout.sessions.create,
                            {"mode": "setup", "customer": "cus_x"})):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            create(params={**params, "payment_method_types": ["card"]})  # type: ignore[arg-type]
        assert refused.value.code == "payment_method_types_no_longer_supported"


def test_a_second_setup_reuses_the_customer_and_both_events_save_one_card(org, front):
    save_card(org, front)
    cards.start_card_setup(org.db, org.gateway, org.admin)
    session_id = front.latest_checkout_session()
    completed = front.complete_checkout(session_id, "pm_card_visa")
    setup_intent = {"id": front.checkout_sessions[session_id]["setup_intent"],
                    "object": "setup_intent", "status": "succeeded"}
    apply_stripe_event(org.db, org.gateway, event("setup_intent.succeeded", setup_intent))
    apply_stripe_event(org.db, org.gateway, completed)
    customers = {s["customer"] for s in front.checkout_sessions.values()
                 if s["metadata"].get("organisation_id") == str(org.organisation_id)}
    assert len(customers) == 1
    with org.db.reader() as session:
        assert session.scalar(select(func.count(PaymentCard.id)).where(
            PaymentCard.organisation_id == org.organisation_id)) == 2


def test_a_declined_charge_then_a_new_card_charges_once(org, front, client):
    db = org.db
    save_card(org, front, "pm_card_chargeCustomerFail")  # saves fine, declines when charged
    notifications.take_mine(db, org.admin)
    booking_id = org.confirmed_booking()
    declined = charges.charge_booking(db, org.gateway, booking_id)
    assert (declined.status, declined.failure_code) == (ChargeStatus.FAILED, "card_declined")
    assert [n.kind for n in notifications.take_mine(db, org.admin)] == ["charge_failed"]

    save_card(org, front)
    paid = charges.charge_for_booking(db, booking_id)
    assert (paid.status, paid.attempt) == (ChargeStatus.SUCCEEDED, 2)
    statuses = sorted(intent.status for intent in intents_for(client, org, booking_id))
    assert statuses == ["requires_payment_method", "succeeded"]


def test_authentication_required_is_recorded_and_admins_asked_to_update_the_card(org, front,
                                                                                  client):
    db = org.db
    method = save_card(org, front)
    front.requires_authentication.add(method)
    notifications.take_mine(db, org.admin)
    booking_id = org.confirmed_booking()
    charge = charges.charge_booking(db, org.gateway, booking_id)
    assert (charge.status, charge.failure_code) == (ChargeStatus.REQUIRES_ACTION,
                                                   "authentication_required")
    with db.reader() as session:
        reference = session.scalar(select(Charge.provider_reference)
                                   .where(Charge.booking_id == booking_id))
    assert reference.startswith("pi_standin_")
    [note] = notifications.take_mine(db, org.admin)
    assert "authenticate" in note.text and "update the company card" in note.text

    save_card(org, front)
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.SUCCEEDED
    assert [intent.status for intent in intents_for(client, org, booking_id)] == ["succeeded"]


def test_refund_once_when_an_in_time_cancellation_follows_the_charge(org, front, client):
    db = org.db
    save_card(org, front)
    booking_id = org.confirmed_booking()
    charged = charges.charge_booking(db, org.gateway, booking_id)
    bookings.cancel(db, org.member, booking_id)
    refunded = charges.settle_booking(db, org.gateway, booking_id)
    assert refunded.status is ChargeStatus.REFUNDED
    assert charges.refund_charge(db, org.gateway, charged.id) == refunded
    [intent] = intents_for(client, org, booking_id)
    refunds = client.v1.refunds.list(params={"payment_intent": intent.id}).data
    assert [(r.amount, r.status) for r in refunds] == [(8000, "succeeded")]


def test_the_same_idempotency_key_twice_gives_one_payment(org, front, client):
    method = save_card(org, front)
    with org.db.reader() as session:
        customer = session.get(Organisation, org.organisation_id).stripe_customer_id
    request = ChargeRequest(customer, method, 1234, "GBP", f"test-{org.organisation_id}-once",
                            {"booking_id": "key-test"})
    created_before = front.payment_intents_created
    first = org.gateway.charge(request)
    second = org.gateway.charge(request)
    assert first == second and first.outcome is PaymentOutcome.SUCCEEDED
    assert front.payment_intents_created == created_before + 1
    assert len(intents_for(client, org, "key-test")) == 1


def test_a_charge_whose_answer_was_lost_is_asked_again_without_paying_twice(org, front, client):
    db = org.db
    save_card(org, front)
    booking_id = org.confirmed_booking()
    charges.charge_booking(db, org.gateway, booking_id)
    with db.transaction() as session:  # as if the process stopped before recording the answer
        session.execute(update(Charge).where(Charge.booking_id == booking_id).values(
            status=ChargeStatus.PENDING, provider_reference=None,
            updated_at=utcnow() - timedelta(hours=1)))
    report = reconciliation.reconcile(db, org.gateway)
    assert report.resumed == report.found == [charges.charge_for_booking(db, booking_id).id]
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.SUCCEEDED
    assert len(intents_for(client, org, booking_id)) == 1


def test_concurrent_charges_of_one_booking_make_one_row_and_one_payment(org, front, client):
    save_card(org, front)
    booking_id = org.confirmed_booking()
    created_before = front.payment_intents_created
    all_at_once([lambda: charges.charge_booking(org.db, org.gateway, booking_id)] * 8)
    with org.db.reader() as session:
        assert session.scalar(select(func.count(Charge.id))
                              .where(Charge.booking_id == booking_id)) == 1
    assert front.payment_intents_created == created_before + 1
    assert [intent.status for intent in intents_for(client, org, booking_id)] == ["succeeded"]


def test_concurrent_claims_of_one_booking_make_one_row_and_one_payment_intent(org, front,
                                                                              client):
    """What eight booking changes settling one booking at once do: each claims inside its own
    transaction and completes after the commit."""
    save_card(org, front)
    booking_id = org.confirmed_booking()
    created_before = front.payment_intents_created

    claims = all_at_once([lambda: org.settle_as_a_booking_change(booking_id)] * 8)
    assert len([claim for claim in claims if claim is not None]) == 1
    with org.db.reader() as session:
        assert session.scalar(select(func.count(Charge.id))
                              .where(Charge.booking_id == booking_id)) == 1
    assert front.payment_intents_created == created_before + 1
    assert [intent.status for intent in intents_for(client, org, booking_id)] == ["succeeded"]
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED
