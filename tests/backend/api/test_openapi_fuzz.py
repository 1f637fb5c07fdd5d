"""schemathesis against the backend as users start it (migrate, seed --demo, serve).

Every operation of /openapi.json gets generated requests, valid and invalid ones, with the
service token and an acting identity drawn from the demo's people (an admin, members, a
stranger); the run fails on any 5xx, any answer that does not match its documented schema,
status code or content type, and any route that takes a request without the credential its
document requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from tests.stack import SERVICE_TOKEN, Stack

# Per operation; with about 45 operations this keeps the run near a minute on 2 cores.
MAX_EXAMPLES = 20
IDENTITIES = ["dev:alice", "dev:ben", "dev:chloe", "dev:dan", "test:stranger"]
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance,
          checks.status_code_conformance, checks.content_type_conformance,
          checks.ignored_auth]

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def backend(stack_factory) -> Stack:
    return stack_factory("api-fuzz", backend_only=True)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _fuzz(operation: Any, backend: Stack, http: requests.Session) -> set[int]:
    # Built per operation here (not with schemathesis.pytest.from_fixture, which pytest 9 breaks)
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases, identity=st.sampled_from(IDENTITIES))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def run(case: Any, identity: str) -> None:
        answer = case.call_and_validate(base_url=backend.backend_url, session=http,
                                        checks=CHECKS, headers=_as(identity))
        statuses.add(answer.status_code)

    statuses: set[int] = set()
    run()
    return statuses


def test_every_operation_answers_as_documented(backend, http):
    schema = schemathesis.openapi.from_url(f"{backend.backend_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the document lost operations"
    failures, accepted = {}, []
    for operation in operations:
        try:
            statuses = _fuzz(operation, backend, http)
        except Exception as failure:  # every operation is fuzzed; all failures are reported
            failures[operation.label] = failure
        else:
            accepted += [operation.label] if any(code < 300 for code in statuses) else []
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in
                                      failures.items())
    # Not everything refused: the generated requests reach the services and succeed there.
    assert len(accepted) >= 15, accepted


@pytest.mark.parametrize("path", ["/bookings/²", "/bookings/18446744073709551617",
                                  "/bookings/2147483648", "/authorisations/-1",
                                  "/therapists/٣", "/therapists/99999999999999999999/slots"])
def test_ids_that_are_no_ids_are_a_clear_400(backend, http, path):
    answer = http.get(f"{backend.backend_url}{path}", headers=_as("dev:ben"))
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["error"]["message"]


@pytest.mark.parametrize("depth", [9, 5000, 30000])
def test_deeply_nested_json_is_a_clear_400(backend, http, depth):
    body = "[" * depth + "]" * depth
    answer = http.post(f"{backend.backend_url}/therapists/search", headers={
        **_as("dev:ben"), "Content-Type": "application/json"}, data=f'{{"issues": {body}}}')
    assert answer.status_code == 400, answer.text
    assert "nested too deeply" in answer.json()["error"]["message"]


def test_a_body_field_beyond_the_id_range_is_refused_before_the_database(backend, http):
    answer = http.post(f"{backend.backend_url}/bookings", headers=_as("dev:ben"), json={
        "therapist_id": 2**64, "starts_at": "2030-01-07T09:00:00+00:00", "modality": "video"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "The therapist id must be a positive whole number."


def _as(identity: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-For": identity}
