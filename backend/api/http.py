"""What every route shares: the app's parts, the acting identity, rendering answers."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from collections.abc import Callable
from datetime import date, datetime, time
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from backend.adapters.payments import PaymentGateway
from backend.db import Database
from backend.services.actors import Actor
from backend.services.policy import Policy
from backend.settings import Settings

T = TypeVar("T")

DB_KEY = web.AppKey("db", Database)
POLICY_KEY = web.AppKey("policy", Policy)
SETTINGS_KEY = web.AppKey("settings", Settings)
GATEWAY_KEY = web.AppKey("payment_gateway", PaymentGateway)
ACTOR_KEY = web.RequestKey("actor", Actor)


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def respond(payload: Any, status: int = 200) -> web.Response:
    """JSON as the services give it: datetimes in isoformat, enums as their values."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    elif dataclasses.is_dataclass(payload) and not isinstance(payload, type):
        payload = dataclasses.asdict(payload)
    return web.json_response(payload, status=status, dumps=partial(json.dumps, default=_default))


def actor(request: web.Request) -> Actor:
    return request[ACTOR_KEY]


def policy(request: web.Request) -> Policy:
    """The operator's policies, built once by the app factory from its settings."""
    return request.app[POLICY_KEY]


def gateway(request: web.Request) -> PaymentGateway:
    """The payment provider, built once by the app factory."""
    return request.app[GATEWAY_KEY]


def settings(request: web.Request) -> Settings:
    return request.app[SETTINGS_KEY]


async def call(request: web.Request, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking, transactional) service function off the event loop."""
    return await asyncio.to_thread(service, request.app[DB_KEY], *args, **kwargs)
