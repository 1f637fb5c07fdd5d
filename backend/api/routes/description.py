"""The API's OpenAPI document, built from the routes' declared shapes (backend/api/openapi.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.api.openapi import document, endpoint

routes = web.RouteTableDef()
DOCUMENT_KEY = web.AppKey("openapi_document", dict)
TITLE = "Therapy sessions backend"
VERSION = "1"


@routes.get("/openapi.json")
@endpoint("This document (OpenAPI 3.1)", answer=dict[str, Any], auth="public")
async def openapi(request: web.Request) -> web.Response:
    built = request.app[DOCUMENT_KEY]
    if not built:  # the router is complete once the app runs: built on first request
        built.update(document(request.app, title=TITLE, version=VERSION))
    return web.json_response(built)
