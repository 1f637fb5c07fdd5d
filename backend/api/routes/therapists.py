"""Routes for therapists: filled in by the therapists work."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
