"""Crisis alerts not yet recorded in the backend, kept in the tracker store's own database.

An alert waiting for the backend (bot/crisis_alerts.py) is written here before its first attempt
and deleted once the backend has recorded (or refused) it, so a Rasa restart does not lose it: the
next Rasa server on the same database sends what is left. One table, `crisis_alerts_pending`,
created beside Rasa's `events` table when missing; a row holds what the alert needs (identity,
kind, time, reference), never the person's words.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

TABLE_NAME = "crisis_alerts_pending"
_metadata = sa.MetaData()
_pending = sa.Table(
    TABLE_NAME, _metadata,
    sa.Column("reference", sa.String(64), primary_key=True),
    sa.Column("alert", sa.Text, nullable=False),  # JSON
)


class CrisisOutbox:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine
        _metadata.create_all(engine, checkfirst=True)

    def add(self, reference: str, alert: dict[str, Any]) -> None:
        """Keep the alert until removed; the same reference twice is kept once."""
        with self._engine.begin() as connection:
            if connection.execute(sa.select(_pending.c.reference)
                                  .where(_pending.c.reference == reference)).first() is None:
                connection.execute(_pending.insert().values(reference=reference,
                                                            alert=json.dumps(alert)))

    def remove(self, reference: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(_pending.delete().where(_pending.c.reference == reference))

    def pending(self) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(_pending.c.alert).order_by(_pending.c.reference))
            return [json.loads(row.alert) for row in rows]
