"""Builds the aiohttp application over the service layer."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from backend.adapters.gateways import build_gateway
from backend.adapters.payments import PaymentGateway
from backend.api import middleware
from backend.api.http import DB_KEY, GATEWAY_KEY, POLICY_KEY, SETTINGS_KEY
from backend.api.idempotency import make_idempotency
from backend.api.routes import (
    authorisations,
    bookings,
    calendar,
    description,
    handoffs,
    identities,
    inbox,
    organisations,
    payments,
    policies,
    portal,
    portal_embed,
    portal_sso,
    quotes,
    slack,
    staff,
    teams,
    therapists,
    waitlist,
    web_sessions,
)
from backend.db import Database
from backend.services.policy import Policy
from backend.services.portal import PortalSettings
from backend.services.slack.settings import SlackAppSettings
from backend.services.teams.settings import TeamsAppSettings
from backend.settings import Settings

ROUTE_TABLES = [organisations.routes, authorisations.routes, therapists.routes, bookings.routes,
                payments.routes, identities.routes, handoffs.routes, policies.routes,
                quotes.routes, web_sessions.routes, calendar.routes, inbox.routes,
                staff.routes, waitlist.routes, description.routes]


def create_app(db: Database, settings: Settings,
               gateway: PaymentGateway | None = None,
               portal_settings: PortalSettings | None = None,
               slack_settings: SlackAppSettings | None = None,
               teams_settings: TeamsAppSettings | None = None) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middleware.errors, middleware.make_authentication(settings.service_token),
                     make_idempotency(
                         ttl=timedelta(hours=settings.idempotency_ttl_hours),
                         wait_seconds=settings.idempotency_wait_seconds,
                         stale_after=timedelta(seconds=settings.idempotency_stale_seconds))],
    )
    app[DB_KEY] = db
    app[POLICY_KEY] = Policy.from_settings(settings)
    app[SETTINGS_KEY] = settings
    app[GATEWAY_KEY] = gateway or build_gateway(settings)
    app[description.DOCUMENT_KEY] = {}
    for table in ROUTE_TABLES:
        app.add_routes(table)
    portal.setup(app, portal_settings or PortalSettings())
    app.add_routes(portal_sso.routes)
    app.add_routes(portal_embed.routes)
    slack.setup(app, slack_settings or SlackAppSettings())
    teams.setup(app, teams_settings or TeamsAppSettings())
    return app
