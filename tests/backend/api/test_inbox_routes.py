"""The therapist inbox over HTTP: the development sign-in, the page listing what to answer,
confirming from it (the card charged once, the member told), and what it refuses."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.domain.enums import ChargeStatus
from backend.models import Charge, Notification
from backend.services.payments import charges
from backend.services.portal import PortalSettings
from backend.settings import Settings
from tests.backend.api.conftest import SERVICE_TOKEN, connect
from tests.backend.stripe_standins import paying_organisation
from tests.backend.test_payments_api import save_card_in_browser

BASE = "http://backend.test"
ORIGIN = {"Origin": BASE}


def app_for(db, gateway, *, dev_login: bool):
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, PUBLIC_BASE_URL=BASE)
    portal = PortalSettings(PORTAL_DEV_LOGIN=dev_login, PUBLIC_BASE_URL=BASE,
                            PORTAL_SESSION_SECRET="inbox-test-session-secret-0123456789abcdef")
    return create_app(db, settings, gateway, portal)


async def csrf(client) -> dict[str, str]:
    """The CSRF field of the inbox page's forms, for this browser (its cookie)."""
    page = await (await client.get("/inbox")).text()
    return {"csrf": re.search(r"name=csrf value='([^']+)'", page).group(1)}


@pytest.fixture
async def api(aiohttp_client, db, gateway):
    return await connect(aiohttp_client, app_for(db, gateway, dev_login=True))


async def test_a_therapist_confirms_from_the_inbox_and_the_card_is_charged_once(api, db,
                                                                               gateway):
    org = paying_organisation(db, gateway)
    await save_card_in_browser(api, org)
    booking_id = org.book()
    client = api.client
    page = await client.get("/inbox")
    assert page.status == 200 and "Development sign-in" in await page.text()
    without_token = await client.post("/inbox/dev-login",
                                      data={"therapist_id": org.therapist_id}, headers=ORIGIN,
                                      allow_redirects=False)
    assert without_token.status == 403
    token = await csrf(client)
    signed_in = await client.post("/inbox/dev-login",
                                  data={"therapist_id": org.therapist_id, **token},
                                  headers=ORIGIN, allow_redirects=False)
    assert signed_in.status == 303
    page = await (await client.get("/inbox")).text()
    assert f"data-booking='{booking_id}'" in page and "Confirm" in page
    for _ in range(2):  # a double click confirms once
        answered = await client.post(f"/inbox/bookings/{booking_id}/confirm", headers=ORIGIN,
                                     data=token, allow_redirects=False)
    assert answered.status == 409
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.SUCCEEDED
    with db.reader() as session:
        assert session.scalar(select(func.count(Charge.id))) == 1
        kinds = session.scalars(select(Notification.kind).where(
            Notification.member_id == org.member.member_id)).all()
    assert kinds == ["booking_confirmed"]
    assert "Nothing to answer." in await (await client.get("/inbox")).text()


async def test_the_inbox_refuses_strangers_and_other_sites(api, db, gateway):
    org = paying_organisation(db, gateway)
    booking_id = org.book()
    client = api.client
    token = await csrf(client)
    refused = await client.post(f"/inbox/bookings/{booking_id}/confirm", headers=ORIGIN,
                                data=token)
    assert refused.status == 403  # not signed in
    await client.post("/inbox/dev-login", data={"therapist_id": org.therapist_id, **token},
                      headers=ORIGIN, allow_redirects=False)
    forged = await client.post(f"/inbox/bookings/{booking_id}/confirm",
                               headers={"Origin": "https://evil.example"}, data=token)
    assert forged.status == 403
    tokenless = await client.post(f"/inbox/bookings/{booking_id}/confirm", headers=ORIGIN)
    assert tokenless.status == 403
    other = paying_organisation(db, gateway)
    theirs = other.book(hours_ahead=24 * 9)
    assert (await client.post(f"/inbox/bookings/{theirs}/confirm", headers=ORIGIN,
                              data=token)).status == 404
    assert (await client.post(f"/inbox/bookings/{booking_id}/explode",
                              headers=ORIGIN, data=token)).status == 400


async def test_without_the_development_sign_in_there_is_no_way_in(aiohttp_client, db, gateway):
    api = await connect(aiohttp_client, app_for(db, gateway, dev_login=False))
    org = paying_organisation(db, gateway)
    page = await (await api.client.get("/inbox")).text()
    assert "Email me a sign-in link" in page and "<select" not in page
    refused = await api.client.post("/inbox/dev-login",
                                    data={"therapist_id": org.therapist_id},
                                    headers=ORIGIN, allow_redirects=False)
    assert refused.status == 403
