"""`python -m backend`: migrate, seed, serve, and show the demo identities."""

from __future__ import annotations

import logging

import click

from backend.settings import get_settings
from contracts.settings import DEV_SERVICE_TOKEN


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(help="The therapy-sessions backend. Configuration comes from environment "
                  "variables (DATABASE_URL, BACKEND_PORT, ...; see README).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def main(log_level: str) -> None:
    _configure_logging(log_level)


@main.command(help="Create or upgrade the database schema (Alembic) to the newest version.")
def migrate() -> None:
    from backend.migrations import upgrade

    url = get_settings().database_url
    click.echo(f"Migrating {_redacted(url)} ...")
    upgrade(url)
    click.echo("Database schema is up to date.")


@main.command(help="Load demo data: an organisation, its people and a therapist directory. "
                   "Safe to run again: existing demo data is left as it is.")
@click.option("--demo", is_flag=True, required=True, help="Load the demo organisation.")
@click.option("--therapists", default=300, show_default=True,
              help="How many therapists the demo directory has.")
def seed(demo: bool, therapists: int) -> None:
    from backend.db import Database
    from backend.seed import seed_demo

    db = Database(get_settings().database_url)
    seed_demo(db, therapists=therapists, echo=click.echo)


@main.command(name="demo-identities", help="Print how to chat as each demo person.")
def demo_identities() -> None:
    from backend.seed import describe_demo_identities

    click.echo(describe_demo_identities())


@main.command(help="Serve the HTTP API.")
@click.option("--host", default=None, help="Overrides BACKEND_HOST.")
@click.option("--port", default=None, type=int, help="Overrides BACKEND_PORT.")
def serve(host: str | None, port: int | None) -> None:
    from contracts.deployment import require_safe_start

    require_safe_start("backend")  # before the slow imports: a refusal comes at once

    from aiohttp import web

    from backend.api.access_log import AccessLogWithoutHealthChecks
    from backend.api.app import create_app
    from backend.api.background import pending_charge_sweeper
    from backend.db import Database
    settings = get_settings()
    app = create_app(Database(settings.database_url), settings)
    app.cleanup_ctx.append(pending_charge_sweeper(settings.pending_charge_sweep_seconds))
    if settings.service_token == DEV_SERVICE_TOKEN:
        logging.getLogger("backend").warning(
            "BACKEND_SERVICE_TOKEN is the development default; set a secret in production.")
    web.run_app(app, host=host or settings.host, port=port or settings.port,
                access_log_class=AccessLogWithoutHealthChecks,
                print=lambda message: click.echo(message))


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
