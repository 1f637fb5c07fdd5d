"""The waitlist's routes over real HTTP, on both databases (answers checked against
/openapi.json): keep a search waiting, list, stop; refusals name what is wrong."""

from __future__ import annotations

from tests.backend import booking_factories as bf
from tests.backend import factories


async def test_keep_a_search_waiting_list_it_and_stop_it(api, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    laura = bf.therapist(db)
    status, watch = await api.request("POST", "/me/watches", identity=member.identity, json={
        "therapist_id": laura, "filters": {"times": "evening", "days": ["thu", "fri"]}})
    assert status == 201, watch
    assert watch["therapist_id"] == laura and watch["status"] == "waiting"
    assert watch["filters"] == {"days": ["Thursday", "Friday"], "times": ["evening"]}

    status, listed = await api.request("GET", "/me/watches", identity=member.identity)
    assert status == 200 and [w["id"] for w in listed["watches"]] == [watch["id"]]
    status, stopped = await api.request("POST", f"/me/watches/{watch['id']}/stop",
                                        identity=member.identity)
    assert status == 200 and stopped["status"] == "stopped"
    status, listed = await api.request("GET", "/me/watches", identity=member.identity)
    assert listed["watches"] == []


async def test_refusals_say_what_is_wrong_and_change_nothing(api, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    outsider = factories.register_organisation(db, "Other Ltd")
    _, watch = await api.request("POST", "/me/watches", identity=member.identity,
                                 json={"filters": {"gender": "male"}})
    refusals = [
        ("POST", "/me/watches", {"filters": {"days": ["someday"]}}, 400),
        ("POST", "/me/watches", {"therapist_id": "laura"}, 400),
        ("POST", "/me/watches", {"therapist_id": 424242}, 404),
        ("POST", "/me/watches", {"filters": "evenings"}, 400),
    ]
    for method, path, body, expected in refusals:
        status, answer = await api.request(method, path, identity=member.identity, json=body)
        assert status == expected, (body, answer)
        assert answer["error"]["message"], answer
    status, answer = await api.request("POST", f"/me/watches/{watch['id']}/stop",
                                       identity=outsider.identity)
    assert status == 404, answer
    status, answer = await api.request("POST", "/me/watches", identity="test:nobody-known",
                                       json={})
    assert status == 403, answer
    _, listed = await api.request("GET", "/me/watches", identity=member.identity)
    assert [w["id"] for w in listed["watches"]] == [watch["id"]]
