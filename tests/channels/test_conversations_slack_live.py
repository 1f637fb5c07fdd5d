"""Issue 13's conversations over Slack's real protocol, to the running Rasa server, action
server and backend: the very conversations tests/e2e runs over the development REST channel
(written against tests.e2e.people), here by people of the demo organisation's Slack workspace,
known to the backend by their verified email, and newcomers who redeem an invite. Buttons are
pressed as Slack sends a click (signed `block_actions`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.channels.slack_chat import SlackPeople
from tests.e2e import (
    test_admin_chat,
    test_booking_gaps,
    test_conversations,
    test_quoted_summaries,
    test_staff_handoff,
    test_waitlist,
)
from tests.e2e.people import each_over_people

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONVERSATIONS = [*test_conversations.CONVERSATIONS, *test_admin_chat.CONVERSATIONS,
                 *test_booking_gaps.CONVERSATIONS, *test_quoted_summaries.CONVERSATIONS,
                 *test_waitlist.CONVERSATIONS, *test_staff_handoff.CONVERSATIONS]


@pytest.fixture
async def people(channel_world) -> AsyncIterator[SlackPeople]:
    async with aiohttp.ClientSession() as http:
        yield SlackPeople(channel_world, http)


test_over_slack = each_over_people(CONVERSATIONS)
