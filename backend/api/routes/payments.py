"""The company card, Stripe's webhooks, notifications for the bot, and spend reports.

`/stripe/webhook`, `/offline-checkout` and `/card-setup/finished` are public (no service
token): Stripe and people's browsers call them. The webhook is authenticated by Stripe's
signature; the offline page by its unguessable session id, and it exists only without Stripe.
"""

from __future__ import annotations

import logging
from html import escape

from aiohttp import web

from backend.adapters import stripe_events
from backend.adapters.offline_gateway import OfflineGateway
from backend.api.answers import WebhookReceived
from backend.api.http import actor, call, gateway, policy, settings
from backend.api.openapi import HTML, endpoint
from backend.api.requests import CardPage, CardSetupResult
from backend.services import notifications, reports
from backend.services.payments import cards, webhooks
from contracts.answers import CardOnFile, CardSetup, Notifications, SpendReport

log = logging.getLogger("backend.payments")
routes = web.RouteTableDef()


@routes.get("/organisation/card")
@endpoint("The card on file: brand and last 4 (admins)", answer=CardOnFile)
async def show_card(request: web.Request) -> CardOnFile:
    return CardOnFile(card=await call(request, cards.card_on_file, actor(request)))


@routes.post("/organisation/card/setup")
@endpoint("A link to the hosted card page (admins)", answer=CardSetup, status=201)
async def start_card_setup(request: web.Request) -> CardSetup:
    return await call(request, cards.start_card_setup, gateway(request), actor(request))


@routes.get("/me/notifications")
@endpoint("Notifications not yet delivered (each handed out once)", answer=Notifications)
async def my_notifications(request: web.Request) -> Notifications:
    return Notifications(notifications=await call(request, notifications.take_mine,
                                                  actor(request)))


@routes.get("/reports/spend")
@endpoint("Spend per authorisation and per month (admins; small groups withheld)",
          answer=SpendReport)
async def spend_report(request: web.Request) -> SpendReport:
    return await call(request, reports.spend, actor(request), policy=policy(request))


@routes.post("/stripe/webhook")
@endpoint("Stripe's events, authenticated by the Stripe-Signature header",
          answer=WebhookReceived, auth="public")
async def stripe_webhook(request: web.Request) -> WebhookReceived:
    config = settings(request)
    event = stripe_events.read_event(
        await request.read(), request.headers.get(stripe_events.SIGNATURE_HEADER),
        secret=config.stripe_webhook_secret,
        tolerance_seconds=config.stripe_webhook_tolerance_seconds)
    result = await call(request, webhooks.apply_event, gateway(request), event)
    return WebhookReceived(received=True, outcome=result.outcome)


# --- pages people's browsers open ------------------------------------------------------------


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status, content_type="text/html",
        text=(f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
              f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
              f"<title>{escape(title)}</title></head><body style='font-family:sans-serif;"
              f"max-width:32rem;margin:3rem auto'><h1>{escape(title)}</h1>{body}</body></html>"))


def _offline_setup(request: web.Request, session_id: str) -> tuple[OfflineGateway, str]:
    offline = gateway(request)
    if not isinstance(offline, OfflineGateway) or not offline.knows_setup(session_id):
        raise web.HTTPNotFound(reason="This card page has expired. Ask the assistant for a "
                                      "new link.")
    return offline, session_id


@routes.get("/offline-checkout")
@endpoint("The offline gateway's stand-in for Stripe's card page", query=CardPage, answer=str,
          auth="public", content_type=HTML)
async def offline_checkout(request: web.Request, query: CardPage) -> web.Response:
    _, session_id = _offline_setup(request, query.session)
    action = f"/offline-checkout?session={escape(session_id, quote=True)}"
    return _page("Add the company card (test mode)", (
        "<p>Payments are in offline test mode: no real card is needed and nothing is charged. "
        "This page stands in for Stripe's secure card page.</p>"
        f"<form method='post' action='{action}'>"
        "<button type='submit' name='card' value='test'>Save test card</button> "
        "<button type='submit' name='card' value='declining'>Save a card that will be "
        "declined</button></form>"))


@routes.post("/offline-checkout")
@endpoint("Save a test card on the offline card page (a form post)", query=CardPage,
          answer=str, auth="public", content_type=HTML)
async def offline_checkout_save(request: web.Request, query: CardPage) -> web.Response:
    offline, session_id = _offline_setup(request, query.session)
    form = await request.post()
    event = offline.complete_setup(session_id, declining=form.get("card") == "declining")
    await call(request, webhooks.apply_event, offline, event)  # what Stripe's webhook does
    return _page("Card saved", "<p>The test card is saved. You can close this page and go "
                               "back to the chat.</p>")


@routes.get("/card-setup/finished")
@endpoint("Where the card page sends the browser back", query=CardSetupResult, answer=str,
          auth="public", content_type=HTML)
async def card_setup_finished(request: web.Request, query: CardSetupResult) -> web.Response:
    if query.result == "saved":
        return _page("Thank you", "<p>Your card details went to our payment provider. The "
                                  "assistant will confirm in the chat once the card is saved. "
                                  "You can close this page.</p>")
    return _page("No card added", "<p>Nothing was saved. You can ask the assistant for a new "
                                  "link whenever you are ready.</p>")
