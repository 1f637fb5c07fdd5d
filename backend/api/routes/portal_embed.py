"""The widget embedded on an organisation's intranet asks here for its chat identity token.

Called cross-origin from the intranet's page, which must be one of WEB_ALLOWED_ORIGINS (the Rasa
channel accepts the same list). No cookie is involved: the organisation's signed token is the
credential, so there is nothing for another site to forge a request with.
"""

from __future__ import annotations

from aiohttp import web

from backend.api import portal_auth
from backend.api.answers import ChatSocket, EmbedChatToken
from backend.api.http import call
from backend.api.middleware import error_response
from backend.api.openapi import HTML, endpoint
from backend.api.requests import EmbedIdentity
from backend.domain.errors import DomainError
from backend.services.signin import embed
from contracts.web_identity import normalise_origin, origin_allowed

routes = web.RouteTableDef()
PATH = "/portal/api/embed/chat-token"


def _cors(request: web.Request) -> dict[str, str] | None:
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, portal_auth.settings_of(request).allowed_origins):
        return None
    return {"Access-Control-Allow-Origin": normalise_origin(origin) or "", "Vary": "Origin",
            "Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Headers": "Content-Type"}


@routes.options(PATH)
@endpoint("CORS preflight of the intranet widget's call (allowed origins only)", answer=str,
          status=204, auth="public", content_type=HTML)
async def preflight(request: web.Request) -> web.Response:
    cors = _cors(request)
    if cors is None:
        return error_response(403, "bad_origin", "This page is not allowed to open the chat.")
    return web.Response(status=204, headers=cors, content_type=HTML)


@routes.post(PATH)
@endpoint("The intranet widget's chat token, for the employee the organisation's signed token "
          "names", body=EmbedIdentity, answer=EmbedChatToken, auth="public")
async def chat_token(request: web.Request, body: EmbedIdentity) -> web.Response:
    cors = _cors(request)
    if cors is None:
        return error_response(403, "bad_origin", "This page is not allowed to open the chat.")
    settings = portal_auth.settings_of(request)
    try:
        token = await call(request, embed.chat_token, settings, body.organisation_id, body.token,
                           portal_auth.now(request))
    except DomainError as refused:
        response = error_response(403, refused.code, refused.message)
        response.headers.update(cors)
        return response
    answer = EmbedChatToken(token=token.token, identity=token.identity,
                            expires_in=token.expires_in,
                            chat=ChatSocket(socket_url=settings.rasa_socket_url,
                                            socket_path=settings.rasa_socket_path))
    return web.json_response(answer.model_dump(), headers=cors)
