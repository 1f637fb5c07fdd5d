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
    from backend.api.background import (
        expired_reply_purger,
        pending_charge_sweeper,
        retry_policy,
    )
    from backend.db import Database
    settings = get_settings()
    app = create_app(Database(settings.database_url), settings)
    app.cleanup_ctx.append(pending_charge_sweeper(settings.pending_charge_sweep_seconds,
                                                  retry_policy(settings)))
    app.cleanup_ctx.append(expired_reply_purger())
    if settings.service_token == DEV_SERVICE_TOKEN:
        logging.getLogger("backend").warning(
            "BACKEND_SERVICE_TOKEN is the development default; set a secret in production.")
    web.run_app(app, host=host or settings.host, port=port or settings.port,
                access_log_class=AccessLogWithoutHealthChecks,
                print=lambda message: click.echo(message))


@main.command(name="sso-set", help="Set an organisation's single sign-on (OpenID Connect). "
                                   "The client secret is read from the environment variable "
                                   "named by --client-secret-env and stored encrypted.")
@click.option("--organisation", "organisation_id", type=int, required=True)
@click.option("--issuer", required=True, help="e.g. https://login.microsoftonline.com/<tenant>/v2.0")
@click.option("--client-id", required=True)
@click.option("--client-secret-env", required=True, help="Variable holding the client secret.")
@click.option("--tenant", default=None, help="The tenant (tid claim) the provider must name.")
@click.option("--domain", default=None, help="The email domain (hd claim) it must name.")
def sso_set(organisation_id: int, issuer: str, client_id: str, client_secret_env: str,
            tenant: str | None, domain: str | None) -> None:
    import os

    from backend.db import Database
    from backend.services.portal import PortalSettings
    from backend.services.signin import sso

    secret = os.environ.get(client_secret_env, "")
    if not secret:
        raise click.UsageError(f"{client_secret_env} is empty: export the client secret there.")
    config = sso.configure(Database(get_settings().database_url), PortalSettings(),
                           organisation_id, issuer=issuer, client_id=client_id,
                           client_secret=secret, allowed_tenant=tenant, allowed_domain=domain)
    click.echo(f"Single sign-on set for organisation {config.organisation_id}: {config.issuer}")


@main.command(name="embed-key", help="Make a new key with which an organisation's intranet signs "
                                     "its employees' identity for the embedded widget (shown "
                                     "once; the previous key keeps working for "
                                     "EMBED_ROTATION_GRACE_HOURS).")
@click.option("--organisation", "organisation_id", type=int, required=True)
def embed_key(organisation_id: int) -> None:
    from backend.db import Database
    from backend.services.portal import PortalSettings
    from backend.services.signin import embed

    made = embed.rotate_key(Database(get_settings().database_url), PortalSettings(),
                            organisation_id)
    click.echo(f"Embed key for organisation {organisation_id} (shown once, keep it on your "
               f"intranet's server):\n{made.key}")
    if made.previous_valid_until:
        click.echo(f"The previous key works until {made.previous_valid_until.isoformat()}.")
@main.command(name="slack-reseal", help="Encrypt every Slack workspace's bot token with the "
                                        "first key of SLACK_TOKEN_KEYS (after putting a new "
                                        "key first; then the old key can be dropped).")
def slack_reseal() -> None:
    from backend.db import Database
    from backend.services.slack import installs
    from backend.services.slack.settings import SlackAppSettings

    count = installs.reseal(Database(get_settings().database_url), SlackAppSettings().sealer)
    click.echo(f"Re-encrypted {count} Slack token(s) with the first key of SLACK_TOKEN_KEYS.")


@main.command(help="Push the notifications into people's conversations (the dispatcher "
                   "process; RASA_URL, RASA_API_TOKEN, DISPATCHER_*: README \"Notifications\").")
def dispatch() -> None:
    from contracts.deployment import require_safe_start

    require_safe_start("dispatcher")

    import asyncio

    from backend.dispatcher.process import serve as serve_dispatcher

    asyncio.run(serve_dispatcher(get_settings()))


DELIVERY_STATES = ["pending", "sending", "delivered", "failed", "skipped"]


@main.command(help="Show the notifications' deliveries: how many are in each state (pending: "
                   "waiting for the dispatcher or for a retry; sending: claimed by a dispatcher; "
                   "delivered; failed: given up after the last attempt; skipped: said by the "
                   "bot in the conversation first), then the newest ones.")
@click.option("--state", type=click.Choice(DELIVERY_STATES), default=None,
              help="List only deliveries in this state.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many of the newest deliveries to list.")
def notifications(state: str | None, limit: int) -> None:
    from backend.db import Database
    from backend.domain.enums import DeliveryState
    from backend.services.outbox import deliveries

    db = Database(get_settings().database_url)
    counts = deliveries.counts(db)
    click.echo("deliveries: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    for row in deliveries.listing(db, DeliveryState(state) if state else None, limit):
        when = row.delivered_at or row.next_attempt_at
        error = f"  last error: {row.last_error}" if row.last_error else ""
        click.echo(f"#{row.id} notification {row.notification_id} {row.kind} to {row.identity}: "
                   f"{row.state}, {row.attempts} attempt(s), {when:%Y-%m-%d %H:%M:%S} UTC{error}")
    db.dispose()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
