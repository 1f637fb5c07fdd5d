"""The identity format, its message metadata and the headers that carry it to the backend."""

from __future__ import annotations

import pytest

from contracts import identity
from contracts.identity import ChatIdentity


def test_one_builder_per_channel_kind():
    assert str(identity.slack("T0123", "U0456")) == "slack:T0123:U0456"
    assert str(identity.teams("tenant-1", "aad-2")) == "teams:tenant-1:aad-2"
    assert str(identity.web(42)) == "web:42"
    assert str(identity.dev("ben")) == "dev:ben"


@pytest.mark.parametrize("value, parsed", [
    ("slack:T0123:U0456", ChatIdentity("slack", "T0123:U0456")),
    (" Teams:t:o ", ChatIdentity("teams", "t:o")),
    ("web:42", ChatIdentity("web", "42")),
])
def test_parse_splits_the_channel_from_its_id(value, parsed):
    assert ChatIdentity.parse(value) == parsed
    assert ChatIdentity.parse(str(parsed)) == parsed


@pytest.mark.parametrize("value", ["", "slack", ":U1", "slack:", "x:" + "y" * 200])
def test_parse_refuses_what_is_not_channel_colon_id(value):
    with pytest.raises(ValueError, match="channel:id"):
        ChatIdentity.parse(value)


def test_web_member_ids():
    assert identity.web_member_id("web:42") == 42
    for other in ("web:", "web:4x", "slack:T:U", "web:" + "9" * 19, "dev:42"):
        assert identity.web_member_id(other) is None


def test_metadata_carries_identity_and_verified_email_only():
    ann = identity.slack("T1", "U1", "ann@acme.example")
    assert ann.metadata() == {"identity": "slack:T1:U1", "verified_email": "ann@acme.example"}
    assert identity.teams("t", "o").metadata() == {"identity": "teams:t:o"}


def test_metadata_round_trip_and_what_counts_as_no_identity():
    ann = identity.slack("T1", "U1", "ann@acme.example")
    assert identity.from_metadata(ann.metadata()) == ann
    assert identity.from_metadata({"identity": "dev:ben", "verified_email": ""}) == (
        identity.dev("ben"))
    for metadata in ({}, {"identity": 42}, {"identity": "nobody"}, {"identity": ":x:"},
                     {"verified_email": "ann@acme.example"}):
        assert identity.from_metadata(metadata) is None


def test_headers_name_the_identity_and_the_verified_email():
    assert identity.web(7, "chloe@x.example").headers() == {
        "X-Acting-For": "web:7", "X-Verified-Email": "chloe@x.example"}
    assert identity.dev("ben").headers() == {"X-Acting-For": "dev:ben"}


def test_the_service_credential_is_a_bearer_token():
    assert identity.bearer("s3cret") == {"Authorization": "Bearer s3cret"}
    assert identity.bearer_token("Bearer s3cret") == "s3cret"
    assert identity.bearer_token("bearer s3cret") == "s3cret"
    for header in (None, "", "Bearer", "Bearer ", "Basic s3cret", "s3cret"):
        assert identity.bearer_token(header) is None
