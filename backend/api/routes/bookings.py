"""Routes for bookings: filled in by the bookings work."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
