"""What the backend says the policies are (GET /policies): the figures and wordings the bot tells,
and the words it reads free text with. The same for everyone, so read once per process; while
the backend cannot be reached, `policies()` raises and each caller says something without figures.
A member is told those in force for their organisation (GET /me/policies, `policies_in_force`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.actions.parsing import Words
from contracts import answers
from contracts.backend_client import BackendClient, BackendError, BackendUnavailable
from contracts.identity import ChatIdentity

# Policies belong to nobody: the action server asks for itself, also for visitors the channel
# has not identified (anyone may ask about cancellations or privacy).
POLICIES_READER = ChatIdentity("actions", "policies")

_cache: dict[str, Policies] = {}


@dataclass(frozen=True)
class Policies:
    cancellation_window_hours: int  # the service's default, or `organisation`'s own
    therapist_confirmation_business_hours: int
    reporting_min_group: int
    coverage: dict[str, str]  # coverage -> the sentence that explains it
    words: Words
    organisation: str | None = None  # whose policies: None for the service's

    @classmethod
    def from_answer(cls, answer: answers.Policies) -> Policies:
        return cls(
            cancellation_window_hours=answer.cancellation_window_hours,
            therapist_confirmation_business_hours=answer.therapist_confirmation_business_hours,
            reporting_min_group=answer.reporting_min_group,
            coverage=answer.coverage,
            words=Words(days=answer.day_words, day_parts=answer.day_part_words,
                        day_part_hours=answer.day_parts, modalities=answer.modality_words),
            organisation=answer.organisation,
        )

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Policies:
        return cls.from_answer(answers.Policies.from_json(body))


async def policies() -> Policies:
    """The backend's policies; raises BackendUnavailable (or BackendError) when it can't say."""
    if "policies" not in _cache:
        _cache["policies"] = Policies.from_answer(await BackendClient(POLICIES_READER).policies())
    return _cache["policies"]


async def policies_in_force(client: BackendClient | None) -> Policies:
    """The policies that apply to whoever asks: their organisation's (its own cancellation
    window) when the channel says who they are and the backend knows their organisation, the
    service's otherwise. Raises like `policies()` while the backend can't say."""
    if client is not None:
        try:
            return Policies.from_answer(await client.my_policies())
        except BackendError:
            pass  # not a member of an organisation (yet): the service's policies
    return await policies()


async def directory_words() -> Words:
    return (await policies()).words


async def coverage_text(coverage: str | None) -> str:
    """The backend's sentence explaining a coverage; its plain name while the backend can't say
    (this is said after something was done, which an outage here must not hide)."""
    try:
        return (await policies()).coverage[str(coverage)]
    except (BackendError, BackendUnavailable, KeyError):
        return f"Coverage: {str(coverage or 'not set').replace('_', ' ')}."


async def known_policies() -> Policies | None:
    """The backend's policies, or None while it can't say them."""
    try:
        return await policies()
    except (BackendError, BackendUnavailable):
        return None


async def confirmation_hours() -> int | None:
    """Business hours within which therapists usually confirm; None while the backend can't say."""
    known = await known_policies()
    return known.therapist_confirmation_business_hours if known else None
