"""An organisation registered by chat from Slack connects its workspace and sets its work email
domain by chat (issue 13), over Slack's real protocol to the running Rasa server, action server
and backend; then a colleague of that workspace with a verified address at the domain, never
invited, is offered the sessions open to all members."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend.domain.enums import Access
from backend.models import Organisation
from backend.services import actors, organisations
from tests.backend import factories
from tests.channels.test_slack_live import _buttons, _click, _dm, _replies

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_an_admin_connects_the_workspace_and_sets_the_domain_and_a_colleague_joins(
        channel_world):
    suffix = uuid.uuid4().hex[:6].upper()
    team, founder, colleague = f"TNEW{suffix}", f"UHANA{suffix}", f"USAM{suffix}"
    domain = f"acme-{suffix.lower()}.example"
    db = channel_world.stack.database()
    try:  # registered by chat from Slack: the founder's Slack identity is the first admin
        admin = organisations.register(db, actors.resolve(db, f"slack:{team}:{founder}"),
                                       name=f"Acme {suffix}", admin_name="Hana",
                                       admin_email=f"hana@{domain}")
        factories.authorisation(db, admin, sessions_per_user=6, user_limit=None,
                                access=Access.ALL_MEMBERS, name="Everyone's sessions")
    finally:
        db.dispose()
    channel_world.slack.add_user(team, founder, f"hana@{domain}", "Hana")
    channel_world.slack.add_user(team, colleague, f"sam@{domain}", "Sam")

    # Before: the workspace is nobody's, so Sam is told so and is offered nothing.
    assert _dm(channel_world, colleague, "how many sessions do I have left?", team=team)[0] == 200
    before = " ".join(post["text"] for post in _replies(channel_world, colleague, 2))
    assert "isn't connected to an organisation" in before and "Everyone's sessions" not in before

    assert _dm(channel_world, founder, "connect this workspace to our organisation",
               team=team)[0] == 200
    [connected] = _replies(channel_world, founder, 1)
    assert connected["text"].startswith(f"Done: this Slack workspace is connected to Acme "
                                        f"{suffix}."), connected
    [suggested] = _buttons(connected)
    assert suggested["value"] == f'/set_email_domain{{"email_domain": "{domain}"}}'

    assert _click(channel_world, founder, suggested["value"], team=team)[0] == 200
    asked = _replies(channel_world, founder, 2)[1]
    assert f"verified address at @{domain}" in asked["text"], asked
    assert [button["value"] for button in _buttons(asked)] == ["/affirm", "/deny"]
    assert _click(channel_world, founder, "/affirm", team=team)[0] == 200
    done = _replies(channel_world, founder, 3)[2]
    assert done["text"].startswith(f"Done: your work email domain is now @{domain}."), done

    db = channel_world.stack.database()
    try:
        with db.reader() as session:
            row = session.scalar(select(Organisation).where(Organisation.id
                                                            == admin.organisation_id))
            assert (row.slack_team_id, row.email_domain) == (team, domain)
    finally:
        db.dispose()

    # After: Sam, never invited, is a member by his verified address and sees the offer.
    assert _dm(channel_world, colleague, "how many sessions do I have left?", team=team)[0] == 200
    after = _replies(channel_world, colleague, 3)[2]
    assert "Everyone's sessions" in after["text"] and "6 sessions" in after["text"], after
