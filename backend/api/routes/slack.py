"""Slack per organisation: "Add to Slack" from the portal, Slack's redirect back, the admin's
"Disconnect Slack", and the Slack channel's calls (a workspace's token; a workspace gone). The
rules are backend/services/slack/installs.py; Slack's HTTP is backend/adapters/slack_oauth.py."""

from __future__ import annotations

import logging

from aiohttp import web

from backend.adapters import slack_oauth
from backend.api import portal_auth
from backend.api.answers import SlackInstallStart
from backend.api.http import actor, call
from backend.api.openapi import HTML, endpoint
from backend.api.pages import again_page
from backend.api.requests import SlackCallback, SlackDisconnect, SlackTeam, SlackUninstall
from backend.api.routes.portal import redirect, refusal_page
from backend.domain.errors import DomainError, PermissionDenied
from backend.services.slack import installs
from backend.services.slack.installs import SlackConnection, SlackDisconnection, WorkspaceToken
from backend.services.slack.settings import CALLBACK_PATH, SlackAppSettings
from contracts.answers import SlackDisconnected

log = logging.getLogger("backend.slack")
routes = web.RouteTableDef()
SETTINGS_KEY = web.AppKey("slack_settings", SlackAppSettings)
TITLE = "Add to Slack"
CONNECTED = "/portal?slack=connected"


def _settings(request: web.Request) -> SlackAppSettings:
    return request.app[SETTINGS_KEY]


def _not_offered() -> PermissionDenied:
    return PermissionDenied("Slack is not set up on this service (SLACK_CLIENT_ID).",
                            code="slack_not_configured")


@routes.get("/portal/api/slack")
@endpoint("The signed-in admin's organisation's Slack workspace, if connected",
          answer=SlackConnection, auth="portal")
async def connection(request: web.Request) -> SlackConnection:
    return await call(request, installs.connection_of, await portal_auth.signed_in(request))


@routes.post("/portal/api/slack/install")
@endpoint("Start \"Add to Slack\" for the signed-in admin's organisation: the address of "
          "Slack's consent page, with a single-use state bound to this admin",
          answer=SlackInstallStart, auth="portal")
async def install(request: web.Request) -> SlackInstallStart:
    portal_auth.require_form(request)
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    if not settings.enabled:
        raise _not_offered()
    state = await call(request, installs.start, principal, portal_auth.now(request),
                       settings.state_minutes)
    return SlackInstallStart(authorize_url=slack_oauth.authorize_url(settings, state))


@routes.post("/portal/api/slack/disconnect")
@endpoint("The signed-in admin disconnects the organisation's Slack workspace (the one the "
          "portal showed), as Slack's uninstall does: its token deleted, its people's chat "
          "identities unlinked; `was_connected` false when nothing was connected (nothing "
          "changes); 404 `not_connected` for a workspace that is not the organisation's",
          body=SlackDisconnect, answer=SlackDisconnection, auth="portal")
async def disconnect(request: web.Request, body: SlackDisconnect) -> SlackDisconnection:
    portal_auth.require_form(request)
    principal = await portal_auth.signed_in(request)
    done = await call(request, installs.disconnect_by_admin, principal, body.team_id)
    if done.was_connected:
        log.info("Slack workspace %s disconnected from organisation %s", done.team_id,
                 principal.organisation_id if principal else None)
    return done


@routes.get(CALLBACK_PATH)
@endpoint("Slack sends the admin's browser back here with a code and the state: the workspace "
          "is connected to the organisation (a refusal is a page saying why)",
          query=SlackCallback, answer=str, status=303, auth="public", content_type=HTML,
          html_refusals=True, pages=((200, "Coming from Slack's site without the session "
                                           "cookie: a page that repeats the request from here"),))
async def callback(request: web.Request, query: SlackCallback) -> web.Response:
    portal = portal_auth.settings_of(request)
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    if principal is None and query.again is None:
        # Coming from Slack's site, the browser leaves out the SameSite=Strict session cookie;
        # the same request made again from this page is same-site and carries it.
        return _again(request)
    try:
        if not settings.enabled:
            raise _not_offered()
        claimed = await call(request, installs.claim, query.state, principal,
                             portal_auth.now(request))
        if query.error or not query.code:
            raise PermissionDenied(f"Slack did not install the app ({query.error or 'no code'})."
                                   " Start again from the portal.", code="slack_declined")
        installed = await slack_oauth.exchange(settings, query.code)
        await call(request, installs.connect, settings.sealer, claimed, installed,
                   portal_auth.now(request))
    except DomainError as refused:
        log.info("Slack install refused: %s", refused.message)
        return refusal_page(portal, refused.message, TITLE)
    except slack_oauth.SlackOAuthError as error:
        log.warning("Slack's oauth.v2.access failed: %s", error)
        return refusal_page(portal, "Slack did not confirm the install; start again from the "
                                    "portal.", TITLE)
    assert principal is not None
    await slack_oauth.welcome(settings, installed, principal.organisation_name or "your team")
    return redirect(CONNECTED)


def _again(request: web.Request) -> web.Response:
    return again_page(CALLBACK_PATH, request.query, TITLE, "Finishing the Slack install")


@routes.get("/slack/workspaces/{team_id}/token")
@endpoint("The Slack channel: the bot token of a workspace it speaks in (404 when the workspace "
          "has not installed the app)", path=SlackTeam, answer=WorkspaceToken)
async def token(request: web.Request, path: SlackTeam) -> WorkspaceToken:
    return await call(request, installs.token_for, _settings(request).sealer, actor(request),
                      path.team_id)


@routes.post("/slack/workspaces/{team_id}/uninstall")
@endpoint("The Slack channel: Slack says the app was uninstalled from a workspace or its token "
          "revoked; the workspace is disconnected and its token deleted",
          path=SlackTeam, body=SlackUninstall, answer=SlackDisconnected)
async def uninstall(request: web.Request, path: SlackTeam,
                    body: SlackUninstall) -> SlackDisconnected:
    was = await call(request, installs.disconnect, actor(request), path.team_id, body.reason)
    return SlackDisconnected(team_id=path.team_id, was_installed=was)


def setup(app: web.Application, settings: SlackAppSettings) -> None:
    app[SETTINGS_KEY] = settings
    app.add_routes(routes)
