"""An organisation always keeps at least one admin: someone must be able to pay, invite people
and change its settings."""

from __future__ import annotations

from backend.domain.errors import Conflict


def check_removal(name: str, admins_left: int) -> None:
    """Refuse removing `name`'s admin role when no other admin would be left."""
    if admins_left < 1:
        raise Conflict(f"{name} is the organisation's only admin. Add another admin first, "
                       "then remove this one.", code="last_admin")
