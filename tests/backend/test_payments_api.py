"""Payments over HTTP, on both databases: Stripe's signed webhook, the offline card page, the
card and notification routes, the spend report, and the charge after a therapist confirms."""

from __future__ import annotations

import json
import time

import pytest

from backend.api.app import create_app
from backend.domain.enums import ChargeStatus
from backend.models.base import utcnow
from backend.services.payments import charges
from backend.settings import Settings
from tests.backend.api.conftest import SERVICE_TOKEN, ApiClient, connect
from tests.backend.stripe_standins import (
    WEBHOOK_SECRET,
    PayingOrganisation,
    event,
    offline_session_id,
    paying_organisation,
    sign,
)


@pytest.fixture
async def api(aiohttp_client, db, gateway) -> ApiClient:
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                        PUBLIC_BASE_URL="http://backend.test")
    return await connect(aiohttp_client, create_app(db, settings, gateway))


@pytest.fixture
def org(db, gateway) -> PayingOrganisation:
    return paying_organisation(db, gateway)


async def deliver(api: ApiClient, payload: str, signature: str | None) -> tuple[int, dict]:
    """POST to the webhook as Stripe does: no service token, a Stripe-Signature header."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = await api.client.post("/stripe/webhook", data=payload, headers=headers)
    return response.status, await response.json()


async def save_card_in_browser(api: ApiClient, org: PayingOrganisation) -> None:
    status, setup = await api.request("POST", "/organisation/card/setup",
                                      identity=org.admin.identity)
    assert status == 201 and "never through this chat" in setup["message"]
    page = await api.client.get(setup["url"].removeprefix("http://backend.test"))
    assert page.status == 200 and "Save test card" in await page.text()
    saved = await api.client.post(f"/offline-checkout?session={offline_session_id(setup['url'])}",
                                  data={"card": "test"})
    assert saved.status == 200 and "saved" in await saved.text()


async def test_the_offline_card_page_saves_the_card_like_a_webhook_would(api, org):
    status, body = await api.request("GET", "/organisation/card", identity=org.admin.identity)
    assert (status, body) == (200, {"card": None})
    await save_card_in_browser(api, org)
    status, body = await api.request("GET", "/organisation/card", identity=org.admin.identity)
    assert body["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12,
                            "exp_year": utcnow().year + 3}
    status, body = await api.request("GET", "/me/notifications", identity=org.admin.identity)
    assert [note["kind"] for note in body["notifications"]] == ["card_saved"]
    status, body = await api.request("GET", "/me/notifications", identity=org.admin.identity)
    assert body["notifications"] == []
    expired = await api.client.get("/offline-checkout?session=cs_offline_guess")
    assert expired.status == 404


async def test_members_cannot_touch_the_card_or_see_spend(api, org):
    for method, path in [("POST", "/organisation/card/setup"), ("GET", "/organisation/card"),
                         ("GET", "/reports/spend")]:
        status, body = await api.request(method, path, identity=org.member.identity)
        assert (status, body["error"]["code"]) == (403, "forbidden")
    status, _ = await api.request("GET", "/organisation/card", token="wrong",
                                  identity=org.admin.identity)
    assert status == 401


async def test_a_therapist_confirming_charges_the_organisation(api, org):
    await save_card_in_browser(api, org)
    booking_id = org.book()
    status, _ = await api.request("POST", f"/therapist/bookings/{booking_id}/confirm",
                                  identity=org.therapist.identity)
    assert status == 200
    charge = charges.charge_for_booking(org.db, booking_id)
    assert charge.status is ChargeStatus.SUCCEEDED
    status, _ = await api.request("POST", f"/bookings/{booking_id}/cancel",
                                  identity=org.member.identity)
    assert status == 200  # in time: the session goes back, and so does the money
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.REFUNDED
    status, report = await api.request("GET", "/reports/spend", identity=org.admin.identity)
    assert status == 200 and report["by_authorisation"][0]["figures"] is None


async def test_signed_webhooks_are_applied_once_and_bad_ones_refused(api, org):
    await save_card_in_browser(api, org)
    booking_id = org.confirmed_booking()
    charges.charge_booking(org.db, org.gateway, booking_id)
    intent = charges.charge_for_booking(org.db, booking_id)
    refunded = json.dumps(event("charge.refunded", {
        "id": "ch_1", "object": "charge", "refunded": True,
        "metadata": {"booking_id": str(booking_id), "charge_attempt": str(intent.attempt)}}))

    assert await deliver(api, refunded, None) == (400, {"error": {
        "code": "bad_signature", "message": "The Stripe signature is missing, wrong or too old."}})
    status, _ = await deliver(api, refunded, sign(refunded, "whsec_someone_else"))
    assert status == 400
    status, _ = await deliver(api, refunded.replace("ch_1", "ch_2"), sign(refunded))
    assert status == 400
    status, _ = await deliver(api, refunded, sign(refunded, timestamp=int(time.time()) - 600))
    assert status == 400
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED

    assert await deliver(api, refunded, sign(refunded)) == (200, {"received": True,
                                                                 "outcome": "applied"})
    assert await deliver(api, refunded, sign(refunded)) == (200, {"received": True,
                                                                 "outcome": "duplicate"})
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.REFUNDED


async def test_webhook_events_out_of_order_converge(api, org):
    await save_card_in_browser(api, org)
    booking_id = org.confirmed_booking()
    charges.charge_booking(org.db, org.gateway, booking_id)
    metadata = {"booking_id": str(booking_id), "charge_attempt": "1"}
    failed = event("payment_intent.payment_failed", {
        "id": "pi_1", "object": "payment_intent", "status": "requires_payment_method",
        "metadata": metadata, "last_payment_error": {"code": "card_declined"}})
    succeeded = event("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent",
                                                   "status": "succeeded", "metadata": metadata})
    refunded = event("charge.refunded", {"id": "ch_1", "object": "charge", "refunded": True,
                                         "metadata": metadata})
    for evt in (refunded, failed, succeeded):
        payload = json.dumps(evt)
        assert (await deliver(api, payload, sign(payload)))[0] == 200
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.REFUNDED
    _, body = await api.request("GET", "/me/notifications", identity=org.admin.identity)
    assert "charge_failed" not in [note["kind"] for note in body["notifications"]]


async def test_webhooks_are_refused_when_no_secret_is_configured(aiohttp_client, db):
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN)
    client = await aiohttp_client(create_app(db, settings))
    payload = json.dumps(event("payment_intent.succeeded", {"id": "pi_1"}))
    response = await client.post("/stripe/webhook", data=payload,
                                 headers={"Stripe-Signature": sign(payload)})
    assert response.status == 400
