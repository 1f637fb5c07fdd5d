"""Bookings: members book, cancel and reschedule; therapists confirm, decline and complete."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, gateway, json_body, path_id, policy, respond
from backend.domain.errors import InvalidInput
from backend.services import bookings

routes = web.RouteTableDef()

_THERAPIST_ACTIONS = {
    "confirm": bookings.confirm,
    "decline": bookings.decline,
    "complete": bookings.complete,
    "cancel": bookings.cancel_by_therapist,
    "waive": bookings.waive_late_cancellation,
}


def _flag(request: web.Request, name: str, *, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput(f"The '{name}' parameter must be true or false.")


@routes.post("/bookings")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    booked = await call(request, bookings.book, actor(request),
                        therapist_id=body.get("therapist_id"), starts_at=body.get("starts_at"),
                        modality=body.get("modality"), grant_id=body.get("grant_id"),
                        self_pay=body.get("self_pay", False), policy=policy(request))
    return respond(booked, status=201)


@routes.get("/me/bookings")
async def my_bookings(request: web.Request) -> web.Response:
    upcoming_only = _flag(request, "upcoming", default=True)
    return respond({"bookings": await call(request, bookings.list_mine, actor(request),
                                           upcoming_only=upcoming_only)})


@routes.get("/bookings/{id}")
async def show(request: web.Request) -> web.Response:
    return respond(await call(request, bookings.get, actor(request), path_id(request)))


@routes.get("/bookings/{id}/cancellation")
async def cancellation_preview(request: web.Request) -> web.Response:
    return respond(await call(request, bookings.cancellation_preview, actor(request),
                              path_id(request), policy=policy(request)))


@routes.post("/bookings/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    return respond(await call(request, bookings.cancel, actor(request), path_id(request),
                              policy=policy(request), gateway=gateway(request)))


@routes.post("/bookings/{id}/reschedule")
async def reschedule(request: web.Request) -> web.Response:
    body = await json_body(request)
    moved = await call(request, bookings.reschedule, actor(request), path_id(request),
                       starts_at=body.get("starts_at"), policy=policy(request),
                       gateway=gateway(request))
    return respond(moved, status=201)


@routes.get("/therapist/bookings")
async def therapist_bookings(request: web.Request) -> web.Response:
    status = request.query.get("status", "requested")
    return respond({"bookings": await call(request, bookings.list_for_therapist, actor(request),
                                           status=status)})


@routes.post("/therapist/bookings/{id}/{verb:confirm|decline|complete|cancel|waive}")
async def therapist_action(request: web.Request) -> web.Response:
    service = _THERAPIST_ACTIONS[request.match_info["verb"]]
    return respond(await call(request, service, actor(request), path_id(request),
                              gateway=gateway(request)))
