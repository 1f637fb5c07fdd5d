"""Which Teams tenants the channel serves, asked of the real backend app over HTTP (both
databases): a tenant an organisation connected is served, another is told that its admin
connects Teams from the portal; the answer is kept TEAMS_TENANT_CACHE_SECONDS, the last one known
serves while the backend is down; TEAMS_ALLOWED_TENANTS restricts further. A risk message is
recognised anywhere in it (the channel lets it through to the crisis answer)."""

from __future__ import annotations

from sqlalchemy import update

from backend.api.app import create_app
from backend.models import Organisation
from backend.settings import Settings
from channels.admission import scan_for_risk
from channels.teams_tenants import NOT_CONNECTED, NOT_SERVED, Tenants
from contracts.settings import BackendSettings, TeamsSettings
from tests.backend import factories

SERVICE_TOKEN = "tenants-test-service-token"
ACME, GLOBEX, NOBODY = "tenant-acme", "tenant-globex", "tenant-nobody"


def connect(db, organisation_id: int, tenant: str | None) -> None:
    with db.transaction() as session:
        session.execute(update(Organisation).where(Organisation.id == organisation_id)
                        .values(teams_tenant_id=tenant))


async def tenants_for(aiohttp_server, db, **teams) -> tuple[Tenants, object]:
    server = await aiohttp_server(create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN)))
    backend = BackendSettings(url=str(server.make_url("")), service_token=SERVICE_TOKEN)
    settings = TeamsSettings.load({"app_id": "a", "app_password": "p", **teams}, {})
    return Tenants(settings, backend), server


async def test_connected_tenants_are_served_and_others_told_how_to_connect(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    globex = factories.register_organisation(db, "Globex")
    connect(db, acme.organisation_id, ACME)
    connect(db, globex.organisation_id, GLOBEX)
    tenants, _ = await tenants_for(aiohttp_server, db)

    assert await tenants.refusal(ACME, "aad-1") is None
    assert await tenants.refusal(GLOBEX, "aad-2") is None
    assert await tenants.refusal(NOBODY, "aad-3") == NOT_CONNECTED
    assert "admin can connect it from the portal" in NOT_CONNECTED
    assert await tenants.refusal(None, "aad-3") == NOT_SERVED


async def test_the_answer_is_kept_for_the_cache_time(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    kept, _ = await tenants_for(aiohttp_server, db, tenant_cache_seconds=3600)
    fresh, _ = await tenants_for(aiohttp_server, db, tenant_cache_seconds=0)
    assert await kept.refusal(ACME, "aad-1") == NOT_CONNECTED
    assert await fresh.refusal(ACME, "aad-1") == NOT_CONNECTED

    connect(db, acme.organisation_id, ACME)

    assert await kept.refusal(ACME, "aad-1") == NOT_CONNECTED
    assert await fresh.refusal(ACME, "aad-1") is None


async def test_the_last_answer_known_serves_while_the_backend_is_down(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    connect(db, acme.organisation_id, ACME)
    tenants, server = await tenants_for(aiohttp_server, db, tenant_cache_seconds=0)
    assert await tenants.refusal(ACME, "aad-1") is None
    assert await tenants.refusal(NOBODY, "aad-1") == NOT_CONNECTED

    await server.close()

    assert await tenants.refusal(ACME, "aad-1") is None
    assert await tenants.refusal(NOBODY, "aad-1") == NOT_CONNECTED


async def test_the_operator_s_allowed_tenants_restrict_further(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    globex = factories.register_organisation(db, "Globex")
    connect(db, acme.organisation_id, ACME)
    connect(db, globex.organisation_id, GLOBEX)
    tenants, _ = await tenants_for(aiohttp_server, db, allowed_tenants=f"{ACME},{NOBODY}")

    assert await tenants.refusal(ACME, "aad-1") is None
    assert await tenants.refusal(GLOBEX, "aad-1") == NOT_SERVED  # connected, not allowed
    assert await tenants.refusal(NOBODY, "aad-1") == NOT_CONNECTED  # allowed, not connected


async def test_a_risk_is_recognised_anywhere_in_a_message():
    assert (await scan_for_risk("I want to end my life", 1000)).found
    assert (await scan_for_risk("book a session. " * 200 + "I want to end my life", 1000)
            ).clause == "I want to end my life"
    assert not (await scan_for_risk("book a session with a therapist", 1000)).found
