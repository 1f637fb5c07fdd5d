"""Request parsing and response rendering shared by every route."""

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

from backend.adapters.payments import PaymentGateway
from backend.db import Database
from backend.domain.errors import InvalidInput
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
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def respond(payload: Any, status: int = 200) -> web.Response:
    if dataclasses.is_dataclass(payload):
        payload = dataclasses.asdict(payload)
    return web.json_response(payload, status=status, dumps=partial(json.dumps, default=_default))


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a clear 400."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"'{raw}' is not a valid id.")
    return int(raw)


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
