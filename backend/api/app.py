"""Builds the aiohttp application over the service layer."""

from __future__ import annotations

from aiohttp import web

from backend.api import middleware
from backend.api.http import DB_KEY
from backend.api.routes import authorisations, bookings, organisations, therapists
from backend.db import Database
from backend.settings import Settings

ROUTE_TABLES = [organisations.routes, authorisations.routes, therapists.routes, bookings.routes]


def create_app(db: Database, settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middleware.errors, middleware.make_authentication(settings.service_token)],
    )
    app[DB_KEY] = db
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
