"""The Stripe adapter reads Stripe's webhook events (signature by the `stripe` library, then
the format) and hands the service provider-neutral events. No database, no network."""

from __future__ import annotations

import json
import time

import pytest

from backend.adapters.payments import (
    CardSetupCompleted,
    ChargeReference,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderEvent,
)
from backend.adapters.stripe_events import provider_event, read_event
from backend.domain.errors import InvalidInput
from tests.backend.stripe_standins import WEBHOOK_SECRET, event, sign

OURS = {"booking_id": "12", "charge_attempt": "2", "organisation_id": "3"}


def test_a_finished_card_setup_names_its_setup_intent_expanded_or_not():
    checkout = event("checkout.session.completed", {"mode": "setup", "setup_intent": "seti_1"},
                     event_id="evt_1")
    assert provider_event(checkout) == CardSetupCompleted("evt_1", "checkout.session.completed",
                                                          "seti_1")
    expanded = event("checkout.session.completed",
                     {"mode": "setup", "setup_intent": {"id": "seti_2", "status": "succeeded"}})
    assert provider_event(expanded).setup_reference == "seti_2"
    intent = event("setup_intent.succeeded", {"id": "seti_3", "status": "succeeded"})
    assert provider_event(intent).setup_reference == "seti_3"
    payment_mode = event("checkout.session.completed", {"mode": "payment", "id": "cs_1"},
                         event_id="evt_2")
    assert provider_event(payment_mode) == ProviderEvent("evt_2", "checkout.session.completed")


def test_a_payment_intent_says_how_the_payment_stands_by_its_status():
    def read(status: str, **extra) -> ProviderEvent:
        return provider_event(event("payment_intent.payment_failed", {
            "id": "pi_1", "status": status, "metadata": OURS, **extra}, event_id="evt_pi"))

    ours = ChargeReference(12, 2, "pi_1")
    kind = "payment_intent.payment_failed"
    assert read("succeeded") == PaymentSucceeded("evt_pi", kind, ours)  # a late, older name
    assert read("requires_payment_method", last_payment_error={
        "code": "card_declined", "decline_code": "insufficient_funds"}) == PaymentFailed(
        "evt_pi", kind, ours, "insufficient_funds", needs_authentication=False)
    assert read("canceled") == PaymentFailed("evt_pi", kind, ours, "card_declined", False)
    assert read("requires_action") == PaymentFailed("evt_pi", kind, ours, "card_declined", True)
    assert read("requires_payment_method", last_payment_error={
        "code": "authentication_required"}) == PaymentFailed(
        "evt_pi", kind, ours, "authentication_required", needs_authentication=True)
    assert read("processing") == ProviderEvent("evt_pi", kind)  # a later event settles it


def test_a_charge_is_named_by_our_metadata_or_else_by_its_payment_intent():
    def named(obj) -> ChargeReference:
        return provider_event(event("payment_intent.succeeded",
                                    {"status": "succeeded", **obj})).charge

    assert named({"id": "pi_1", "metadata": OURS}) == ChargeReference(12, 2, "pi_1")
    for metadata in ({}, None, "junk", {"booking_id": "12"}, {**OURS, "charge_attempt": "²"},
                     {**OURS, "booking_id": "9" * 30}, {**OURS, "booking_id": "-1"}):
        assert named({"id": "pi_1", "metadata": metadata}) == ChargeReference(
            payment_reference="pi_1")
    assert named({}) == ChargeReference()


def test_only_a_full_refund_is_a_refund():
    full = event("charge.refunded", {"id": "ch_1", "refunded": True, "metadata": {},
                                     "payment_intent": {"id": "pi_7"}}, event_id="evt_r")
    assert provider_event(full) == PaymentRefunded("evt_r", "charge.refunded",
                                                   ChargeReference(payment_reference="pi_7"))
    partial = event("charge.refunded", {"id": "ch_1", "refunded": False, "amount_refunded": 5})
    assert type(provider_event(partial)) is ProviderEvent
    other = event("customer.created", {"id": "cus_1"}, event_id="evt_c")
    assert provider_event(other) == ProviderEvent("evt_c", "customer.created")


def test_read_event_checks_the_signature_with_the_tolerance_then_the_format():
    payload = json.dumps(event("charge.refunded", {"id": "ch_1", "refunded": True,
                                                   "payment_intent": "pi_1"}))

    def read(body: str, signature: str | None, **options) -> ProviderEvent:
        settings = {"secret": WEBHOOK_SECRET, "tolerance_seconds": 300, **options}
        return read_event(body.encode(), signature, **settings)

    assert isinstance(read(payload, sign(payload)), PaymentRefunded)
    old = sign(payload, timestamp=int(time.time()) - 120)
    assert isinstance(read(payload, old), PaymentRefunded)
    refusals = [
        (payload, None, {}, "bad_signature"),
        (payload, sign(payload, "whsec_other"), {}, "bad_signature"),
        (payload, old, {"tolerance_seconds": 60}, "bad_signature"),
        (payload, sign(payload), {"secret": ""}, "webhooks_not_configured"),
    ]
    not_events = ["not json", "[1]", '{"id": 1, "type": "x", "data": {"object": {}}}',
                  '{"id": "evt_1", "type": "x", "data": {"object": []}}',
                  '{"id": "evt_1", "type": "x"}']
    refusals += [(body, sign(body), {}, "invalid_input") for body in not_events]
    for body, signature, options, code in refusals:
        with pytest.raises(InvalidInput) as refused:
            read(body, signature, **options)
        assert refused.value.code == code
