"""An organisation's own settings over real HTTP, on both databases: the cancellation window,
its admins and its work email domain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.domain.enums import Role
from backend.models import AuditEvent, Organisation
from backend.services import actors, identities
from tests.backend import booking_factories as bf
from tests.backend import factories

PATH = "/organisation/cancellation-window"


async def window_of(api, admin) -> int | None:
    status, organisation = await api.request("GET", "/organisation", identity=admin.identity)
    assert status == 200
    return organisation["cancellation_window_hours"]


async def test_an_admins_window_decides_whether_a_cancellation_is_late(api, db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    member, _ = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    status, booked = await api.request("POST", "/bookings", identity=member.identity, json={
        "therapist_id": therapist_id, "starts_at": bf.bookable(bf.hours_from_now(36)).isoformat(),
        "modality": "video"})
    assert status == 201, booked
    bf.move_to(db, booked["id"], bf.hours_from_now(36))  # as if booked earlier (issue 13)
    preview_path = f"/bookings/{booked['id']}/cancellation"
    _, preview = await api.request("GET", preview_path, identity=member.identity)
    assert preview["window_hours"] == 48 and preview["late"] is True  # the service's default

    status, organisation = await api.request("POST", PATH, identity=admin.identity,
                                             json={"hours": 24})
    assert status == 200 and organisation["cancellation_window_hours"] == 24
    assert await window_of(api, admin) == 24
    _, preview = await api.request("GET", preview_path, identity=member.identity)
    assert preview["window_hours"] == 24 and preview["late"] is False
    assert preview["session_returned"] is True


@pytest.mark.parametrize("body, words", [
    ({"hours": 0}, "between 1 and 168 hours"),
    ({"hours": 169}, "between 1 and 168 hours"),
    ({"hours": "24"}, "number of hours"),
    ({"hours": 2.5}, "number of hours"),
    ({}, "Please give the number of hours"),
    ({"hours": None}, "Please give the number of hours"),
])
async def test_a_window_out_of_range_or_not_a_whole_number_is_refused_and_nothing_changes(
        api, db, body, words):
    admin = factories.register_organisation(db)
    await api.request("POST", PATH, identity=admin.identity, json={"hours": 72})
    status, error = await api.request("POST", PATH, identity=admin.identity, json=body)
    assert status == 400 and words in error["error"]["message"], error
    assert await window_of(api, admin) == 72


async def test_only_the_organisations_admins_set_its_window(api, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    for identity in (member.identity, factories.stranger(db).identity):
        status, error = await api.request("POST", PATH, identity=identity, json={"hours": 12})
        assert status == 403 and "admin" in error["error"]["message"]
    other = factories.register_organisation(db, name="Other Ltd")
    await api.request("POST", PATH, identity=other.identity, json={"hours": 12})
    assert await window_of(api, admin) is None and await window_of(api, other) == 12


async def test_the_policies_in_force_for_a_member_carry_their_organisations_window(api, db):
    admin = factories.register_organisation(db, name="Widgets Ltd")
    member = factories.add_member(db, admin.organisation_id)
    _, service = await api.request("GET", "/policies", identity=member.identity)
    assert (service["cancellation_window_hours"], service["organisation"]) == (48, None)
    _, mine = await api.request("GET", "/me/policies", identity=member.identity)
    assert mine == {**service, "organisation": "Widgets Ltd"}  # the default until it sets one

    await api.request("POST", PATH, identity=admin.identity, json={"hours": 30})
    _, mine = await api.request("GET", "/me/policies", identity=member.identity)
    assert mine == {**service, "organisation": "Widgets Ltd", "cancellation_window_hours": 30}
    _, theirs = await api.request("GET", "/me/policies",
                                  identity=factories.register_organisation(db).identity)
    assert theirs["cancellation_window_hours"] == 48
    _, service_now = await api.request("GET", "/policies", identity=member.identity)
    assert service_now == service  # the service's own policies are the same for everyone
    status, error = await api.request("GET", "/me/policies",
                                      identity=factories.stranger(db).identity)
    assert status == 403 and "Redeem an invite code" in error["error"]["message"]


# --- admins ----------------------------------------------------------------------------------

async def admin_ids(api, admin) -> list[int]:
    status, body = await api.request("GET", "/organisation/admins", identity=admin.identity)
    assert status == 200
    return [a["member_id"] for a in body["admins"]]


async def test_an_admin_adds_another_then_removes_them_who_stays_a_member(api, db):
    admin = factories.register_organisation(db)
    status, added = await api.request("POST", "/organisation/admins", identity=admin.identity,
                                      json={"name": "Kim", "email": "kim@example.com"})
    assert status == 201
    assert await admin_ids(api, admin) == [admin.member_id, added["member_id"]]
    status, removed = await api.request(
        "POST", f"/organisation/admins/{added['member_id']}/remove", identity=admin.identity)
    assert status == 200
    assert removed == {"member_id": added["member_id"], "name": "Kim",
                       "email": "kim@example.com", "is_admin": False}
    assert await admin_ids(api, admin) == [admin.member_id]
    status, organisation = await api.request("GET", "/organisation", identity=admin.identity)
    assert organisation["admins"] == 1 and organisation["members"] == 2


async def test_the_last_admin_cannot_be_removed_and_a_removed_admin_loses_the_rights(api, db):
    admin = factories.register_organisation(db)
    status, error = await api.request(
        "POST", f"/organisation/admins/{admin.member_id}/remove", identity=admin.identity)
    assert status == 409 and error["error"]["code"] == "last_admin"
    assert "only admin" in error["error"]["message"]
    assert await admin_ids(api, admin) == [admin.member_id]

    second = factories.add_member(db, admin.organisation_id, role=Role.ADMIN)
    status, _ = await api.request(  # an admin may step down while another remains
        "POST", f"/organisation/admins/{second.member_id}/remove", identity=second.identity)
    assert status == 200
    status, _ = await api.request("GET", "/organisation/admins", identity=second.identity)
    assert status == 403
    status, _ = await api.request(
        "POST", f"/organisation/admins/{admin.member_id}/remove", identity=second.identity)
    assert status == 403 and await admin_ids(api, admin) == [admin.member_id]


async def test_other_organisations_people_and_unknown_ids_are_not_found(api, db):
    admin = factories.register_organisation(db)
    other = factories.register_organisation(db, name="Other Ltd")
    helper = factories.add_member(db, other.organisation_id, role=Role.ADMIN)
    for member_id in (helper.member_id, 999_999):
        status, error = await api.request(
            "POST", f"/organisation/admins/{member_id}/remove", identity=admin.identity)
        assert status == 404, error
    assert await admin_ids(api, other) == [other.member_id, helper.member_id]
    member = factories.add_member(db, admin.organisation_id)
    for method, path in (("GET", "/organisation/admins"),
                         ("POST", f"/organisation/admins/{admin.member_id}/remove")):
        status, _ = await api.request(method, path, identity=member.identity)
        assert status == 403, path


# --- work email domain -----------------------------------------------------------------------

DOMAIN_PATH = "/organisation/email-domain"


async def test_an_admin_sets_the_domain_and_people_of_the_workspace_at_it_join(api, db):
    admin = factories.register_organisation(db)
    with db.transaction() as session:  # connected from the admin's workspace beforehand
        session.get_one(Organisation, admin.organisation_id).slack_team_id = "TDOMAIN"
    joining = actors.resolve(db, "slack:TDOMAIN:UNEW")
    before = identities.verify(db, joining, email="sam@widgets.example", name="Sam")
    assert before.status == identities.NOT_MEMBER  # invite only, so far

    status, organisation = await api.request("POST", DOMAIN_PATH, identity=admin.identity,
                                             json={"email_domain": " Widgets.Example "})
    assert status == 200 and organisation["email_domain"] == "widgets.example"
    status, described = await api.request("GET", "/organisation", identity=admin.identity)
    assert described["email_domain"] == "widgets.example"
    with db.reader() as session:
        changed = session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "organisation.email_domain_changed",
            AuditEvent.organisation_id == admin.organisation_id)).all()
    assert changed == [{"before": None, "after": "widgets.example"}]
    after = identities.verify(db, joining, email="sam@widgets.example", name="Sam")
    assert (after.status, after.organisation_id) == (identities.JOINED, admin.organisation_id)
    elsewhere = identities.verify(db, actors.resolve(db, "slack:TDOMAIN:UOTHER"),
                                  email="kim@other.example", name="Kim")
    assert elsewhere.status == identities.NOT_MEMBER


@pytest.mark.parametrize("body, words", [
    ({"email_domain": "not a domain"}, "should look like 'example.com'"),
    ({"email_domain": "@"}, "should look like 'example.com'"),
    ({"email_domain": 42}, "email domain"),
    ({}, "Please give the email domain"),
    ({"email_domain": ""}, "Please give the email domain"),
])
async def test_a_malformed_domain_is_refused_and_nothing_changes(api, db, body, words):
    admin = factories.register_organisation(db)
    await api.request("POST", DOMAIN_PATH, identity=admin.identity,
                      json={"email_domain": "acme.example"})
    status, error = await api.request("POST", DOMAIN_PATH, identity=admin.identity, json=body)
    assert status == 400 and words in error["error"]["message"], error
    _, described = await api.request("GET", "/organisation", identity=admin.identity)
    assert described["email_domain"] == "acme.example"


async def test_only_the_organisations_admins_set_its_domain(api, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    for identity in (member.identity, factories.stranger(db).identity):
        status, error = await api.request("POST", DOMAIN_PATH, identity=identity,
                                          json={"email_domain": "evil.example"})
        assert status == 403 and "admin" in error["error"]["message"]
    _, described = await api.request("GET", "/organisation", identity=admin.identity)
    assert described["email_domain"] is None
