"""Bookings: members book, cancel and reschedule; therapists confirm, decline and complete."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, gateway, policy
from backend.api.openapi import endpoint
from backend.api.requests import (
    ById,
    MyBookingsQuery,
    NewBooking,
    Reschedule,
    TherapistAnswer,
    TherapistBookingsQuery,
)
from backend.api.routes import calendar
from backend.services import bookings
from backend.services.bookings.member import CancellationPreview
from contracts.answers import Booking, Bookings

routes = web.RouteTableDef()

_THERAPIST_ACTIONS = {
    "confirm": bookings.confirm,
    "decline": bookings.decline,
    "complete": bookings.complete,
    "cancel": bookings.cancel_by_therapist,
    "waive": bookings.waive_late_cancellation,
}


@routes.post("/bookings")
@endpoint("Request a session (the backend picks the grant that pays)", body=NewBooking,
          answer=Booking, status=201)
async def create(request: web.Request, body: NewBooking) -> Booking:
    return await call(request, bookings.book, actor(request),
                      therapist_id=body.therapist_id, starts_at=body.starts_at,
                      modality=body.modality, grant_id=body.grant_id, self_pay=body.self_pay,
                      policy=policy(request))


@routes.get("/me/bookings")
@endpoint("My bookings", query=MyBookingsQuery, answer=Bookings)
async def my_bookings(request: web.Request, query: MyBookingsQuery) -> Bookings:
    return Bookings(bookings=await call(request, bookings.list_mine, actor(request),
                                        upcoming_only=query.upcoming))


@routes.get("/bookings/{id}")
@endpoint("One of my bookings", path=ById, answer=Booking)
async def show(request: web.Request, path: ById) -> Booking:
    return await call(request, bookings.get, actor(request), path.id)


@routes.get("/bookings/{id}/cancellation")
@endpoint("What cancelling now would mean", path=ById, answer=CancellationPreview)
async def cancellation_preview(request: web.Request, path: ById) -> CancellationPreview:
    return await call(request, bookings.cancellation_preview, actor(request), path.id,
                      policy=policy(request))


@routes.post("/bookings/{id}/cancel")
@endpoint("Cancel one of my bookings", path=ById, answer=Booking)
async def cancel(request: web.Request, path: ById) -> Booking:
    return await call(request, bookings.cancel, actor(request), path.id,
                      policy=policy(request), gateway=gateway(request))


@routes.post("/bookings/{id}/reschedule")
@endpoint("Move one of my bookings to another slot", path=ById, body=Reschedule,
          answer=Booking, status=201)
async def reschedule(request: web.Request, path: ById, body: Reschedule) -> Booking:
    return await call(request, bookings.reschedule, actor(request), path.id,
                      starts_at=body.starts_at, policy=policy(request),
                      gateway=gateway(request))


@routes.get("/therapist/bookings")
@endpoint("A therapist's bookings in one state", query=TherapistBookingsQuery, answer=Bookings)
async def therapist_bookings(request: web.Request, query: TherapistBookingsQuery) -> Bookings:
    return Bookings(bookings=await call(request, bookings.list_for_therapist, actor(request),
                                        status=query.status))


@routes.post("/therapist/bookings/{id}/{verb:confirm|decline|complete|cancel|waive}")
@endpoint("A therapist answers a booking (confirming charges the card)", path=TherapistAnswer,
          answer=Booking)
async def therapist_action(request: web.Request, path: TherapistAnswer) -> Booking:
    extra = {"calendar_link": calendar.links(request)} if path.verb == "confirm" else {}
    return await call(request, _THERAPIST_ACTIONS[path.verb], actor(request), path.id,
                      gateway=gateway(request), **extra)
