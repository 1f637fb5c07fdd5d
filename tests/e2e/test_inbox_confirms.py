"""End to end, in Chromium, against the real processes (backend, actions, Rasa, dispatcher): a
member books, the therapist confirms in the inbox page, the member is told in the open chat
widget (a push), and the organisation's card is charged once."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.domain.enums import ChargeStatus, Modality
from backend.models import Charge, Member, Therapist
from backend.services import actors, bookings
from backend.services.search.slots import free_slots
from tests.e2e.widget import (  # noqa: F401  (checked_page: the `page` fixture)
    REPLY_TIMEOUT_MS,
    Widget,
    checked_page,
    sign_in,
)
from tests.mail_server import Inbox
from tests.stack import SERVICE_TOKEN, Stack

BEN = "Ben Okafor"
BEN_EMAIL = "ben@northwind.example"


def save_demo_card(stack: Stack) -> None:
    """What the demo admin does: ask for the card page, press "Save" there (offline gateway)."""
    request = urllib.request.Request(
        f"{stack.backend_url}/organisation/card/setup", method="POST", data=b"{}",
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-For": "dev:alice",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        url = json.loads(answer.read())["url"]
    session = re.search(r"session=([^&]+)", url).group(1)
    saved = urllib.request.Request(f"{stack.backend_url}/offline-checkout?session={session}",
                                   method="POST", data=b"card=test",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(saved, timeout=30) as answer:
        assert answer.status == 200


def test_the_therapist_confirms_in_the_inbox_and_the_member_hears_at_once(
        web_stack: Stack, page: Page, inbox: Inbox):
    save_demo_card(web_stack)
    sign_in(page, web_stack.backend_url, inbox, BEN_EMAIL, BEN)
    widget = Widget(page)
    widget.open(f"Connected as {BEN}")

    db = web_stack.database()
    try:
        with db.reader() as session:
            ben = session.scalar(select(Member).where(Member.name == BEN))
            therapist = session.scalar(select(Therapist).where(Therapist.offers_video.is_(True))
                                       .order_by(Therapist.id).limit(1))
        member = actors.resolve(db, f"web:{ben.id}")
        starts_at = free_slots(db, member, therapist.id,
                               start=datetime.now(timezone.utc) + timedelta(days=3), limit=1)[0]
        booking = bookings.book(db, member, therapist_id=therapist.id, starts_at=starts_at,
                                modality=Modality.VIDEO)
    finally:
        db.dispose()
    before = widget.bot_count()

    # The therapist, in a browser of their own, signs in with the link the inbox page mails.
    therapist_page = page.context.browser.new_context().new_page()
    therapist_page.goto(f"{web_stack.backend_url}/inbox")
    already = len(inbox.to(therapist.email))
    therapist_page.get_by_label("Email address").fill(therapist.email)
    therapist_page.get_by_role("button", name="Email me a sign-in link").click()
    expect(therapist_page.locator("#sign-in-answer")).to_contain_text("on its way")
    therapist_page.goto(inbox.link_in(inbox.wait_for(therapist.email, already + 1)))
    expect(therapist_page.get_by_role("heading", level=1)).to_have_text(
        f"Inbox of {therapist.name}")
    row = therapist_page.locator(f"li[data-booking='{booking.id}']")
    expect(row).to_contain_text(BEN)
    row.get_by_role("button", name="Confirm").click()
    expect(therapist_page.locator("#requested")).to_contain_text("Nothing to answer.")

    told = widget.wait_for_reply(before, rf"{re.escape(therapist.name)} confirmed your session")
    assert "/calendar/" in told
    expect(widget.log).to_contain_text("Private appointment", timeout=REPLY_TIMEOUT_MS)

    db = web_stack.database()
    try:
        with db.reader() as session:
            charges = session.scalars(select(Charge).where(Charge.booking_id == booking.id)).all()
    finally:
        db.dispose()
    assert len(charges) == 1 and charges[0].status is ChargeStatus.SUCCEEDED
