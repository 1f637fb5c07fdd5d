"""Slack installs per organisation (both databases): states bound to the admin who started
them, single use and short-lived; one workspace per organisation, tokens encrypted at rest and
rotatable; uninstalling forgets the token, the connection and the workspace's people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from backend.domain.enums import Role
from backend.domain.errors import Conflict, NotFound, PermissionDenied
from backend.models import ChatIdentity, Organisation, SlackInstallation
from backend.models.base import utcnow
from backend.services import actors
from backend.services.signin.principals import Kind, Principal
from backend.services.slack import installs
from backend.services.slack.installs import Installed
from backend.services.slack.sealing import TokenSealer, parse_keys
from tests.backend import factories

KEY = "slack-test-key-0123456789abcdefghijklmnop"
SEALER = TokenSealer((KEY,))


def admin_principal(admin: actors.Actor) -> Principal:
    return Principal(Kind.ADMIN, "session", "Admin", None, member_id=admin.member_id,
                     organisation_id=admin.organisation_id, organisation_name="Org",
                     role=Role.ADMIN)


def installed(team: str, token: str = "xoxb-1-secret-token") -> Installed:
    return Installed(team_id=team, team_name=f"{team} Inc", bot_user_id="UBOT",
                     bot_token=token, installer_user_id="UADMIN")


def install(db, admin, team: str, token: str = "xoxb-1-secret-token"):
    now = utcnow()
    principal = admin_principal(admin)
    state = installs.start(db, principal, now, 10)
    claimed = installs.claim(db, state, principal, now)
    return installs.connect(db, SEALER, claimed, installed(team, token), now)


def slack_actor(team: str, user: str = "U1") -> actors.Actor:
    return actors.Actor("slack", f"{team}:{user}")


def test_an_admin_installs_and_the_token_is_kept_encrypted(db):
    admin = factories.register_organisation(db, "Acme")

    connection = install(db, admin, "TACME", "xoxb-acme-very-secret")

    assert connection.connected and connection.team_id == "TACME"
    with db.reader() as session:
        organisation = session.get(Organisation, admin.organisation_id)
        raw = session.execute(text("SELECT bot_token_sealed FROM slack_installations")).scalar()
    assert organisation.slack_team_id == "TACME"
    assert "xoxb-acme-very-secret" not in raw and "acme-very-secret" not in raw
    token = installs.token_for(db, SEALER, slack_actor("TACME"), "TACME")
    assert (token.bot_token, token.bot_user_id) == ("xoxb-acme-very-secret", "UBOT")
    assert installs.connection_of(db, admin_principal(admin)).team_name == "TACME Inc"


def test_keys_rotate_first_encrypts_all_decrypt(db):
    old, new = "old-key-" + "a" * 32, "new-key-" + "b" * 32
    sealed = TokenSealer((old,)).seal("xoxb-rotate")
    both = TokenSealer(parse_keys(f"{new}, {old}"))
    assert both.open(sealed) == "xoxb-rotate"
    resealed = both.reseal(sealed)
    assert TokenSealer((new,)).open(resealed) == "xoxb-rotate"
    with pytest.raises(ValueError, match="SLACK_TOKEN_KEYS"):
        TokenSealer((new,)).open(sealed)


def test_rotating_the_key_reseals_the_stored_tokens(db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME", "xoxb-kept")
    rotated = TokenSealer(("a-brand-new-key-" + "z" * 32, KEY))

    assert installs.reseal(db, rotated) == 1

    only_new = TokenSealer(("a-brand-new-key-" + "z" * 32,))
    assert installs.token_for(db, only_new, slack_actor("TACME"), "TACME").bot_token == \
        "xoxb-kept"


@pytest.mark.parametrize("case", ["forged", "replayed", "expired", "other_admin", "malformed"])
def test_a_bad_state_is_refused(db, case):
    admin = factories.register_organisation(db, "Acme")
    principal = admin_principal(admin)
    now = utcnow()
    state = installs.start(db, principal, now, 10)
    claimer, when = principal, now
    if case == "forged":
        state = "A" * 43
    elif case == "malformed":
        state = "<script>"
    elif case == "replayed":
        installs.claim(db, state, principal, now)
    elif case == "expired":
        when = now + timedelta(minutes=11)
    elif case == "other_admin":
        second = factories.add_member(db, admin.organisation_id, role=Role.ADMIN)
        claimer = admin_principal(second)
    with pytest.raises(PermissionDenied) as refused:
        installs.claim(db, state, claimer, when)
    assert refused.value.code == "slack_state_refused"
    assert "not valid any more" in refused.value.message


def test_only_a_signed_in_admin_starts_or_claims(db):
    admin = factories.register_organisation(db, "Acme")
    member = factories.add_member(db, admin.organisation_id)
    as_member = Principal(Kind.MEMBER, "s", "M", None, member_id=member.member_id,
                          organisation_id=admin.organisation_id, role=Role.MEMBER)
    for principal in (None, as_member):
        with pytest.raises(PermissionDenied):
            installs.start(db, principal, utcnow(), 10)
    state = installs.start(db, admin_principal(admin), utcnow(), 10)
    with pytest.raises(PermissionDenied):
        installs.claim(db, state, None, utcnow())


def test_a_workspace_connected_to_another_organisation_is_refused(db):
    acme = factories.register_organisation(db, "Acme")
    globex = factories.register_organisation(db, "Globex")
    install(db, acme, "TSHARED", "xoxb-acme")

    with pytest.raises(Conflict, match="another organisation"):
        install(db, globex, "TSHARED", "xoxb-globex")

    token = installs.token_for(db, SEALER, slack_actor("TSHARED"), "TSHARED")
    assert token.bot_token == "xoxb-acme"


def test_reinstalling_replaces_the_token_and_a_new_workspace_replaces_the_old(db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TONE", "xoxb-first")
    install(db, acme, "TONE", "xoxb-second")
    assert installs.token_for(db, SEALER, slack_actor("TONE"), "TONE").bot_token == "xoxb-second"

    install(db, acme, "TTWO", "xoxb-two")

    with pytest.raises(NotFound):
        installs.token_for(db, SEALER, slack_actor("TONE"), "TONE")
    with db.reader() as session:
        assert session.scalars(select(SlackInstallation.team_id)).all() == ["TTWO"]


def test_uninstall_forgets_token_connection_and_people(db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME")
    member = factories.add_member(db, acme.organisation_id)
    other = factories.add_member(db, acme.organisation_id)
    with db.transaction() as session:
        session.add(ChatIdentity(channel="slack", external_id="TACME:UMEMBER",
                                 member_id=member.member_id))
        session.add(ChatIdentity(channel="slack", external_id="TACMEX:UOTHER",
                                 member_id=other.member_id))

    assert installs.disconnect(db, slack_actor("TACME", "USLACKBOT"), "TACME",
                               "app_uninstalled") is True

    with pytest.raises(NotFound):
        installs.token_for(db, SEALER, slack_actor("TACME"), "TACME")
    with db.reader() as session:
        assert session.get(Organisation, acme.organisation_id).slack_team_id is None
        slack_links = session.scalars(select(ChatIdentity.external_id).where(
            ChatIdentity.channel == "slack")).all()
    assert slack_links == ["TACMEX:UOTHER"]  # only that workspace's people are unlinked
    resolved = actors.resolve(db, "slack:TACME:UMEMBER")
    assert resolved.member_id is None
    # Said twice (Slack retries): nothing more to do.
    assert installs.disconnect(db, slack_actor("TACME", "USLACKBOT"), "TACME",
                               "tokens_revoked") is False


def test_the_channel_asks_from_inside_the_workspace_only(db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME")
    for stranger in (slack_actor("TOTHER"), actors.Actor("web", "12"),
                     actors.Actor("slack", "TACME")):
        with pytest.raises(PermissionDenied):
            installs.token_for(db, SEALER, stranger, "TACME")
        with pytest.raises(PermissionDenied):
            installs.disconnect(db, stranger, "TACME", "app_uninstalled")
