"""The demo seed and the command line, as a new user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from backend.models import Authorisation, Member, Organisation, Therapist
from backend.seed import DEMO_INVITE_CODE, DEMO_PEOPLE, seed_demo
from backend.services import actors, grants, invites


def test_demo_seed_gives_every_demo_person_a_working_identity(db):
    seed_demo(db, therapists=40, echo=lambda _line: None)
    seed_demo(db, therapists=40, echo=lambda _line: None)  # twice: nothing duplicated
    with db.reader() as session:
        assert session.scalar(select(func.count(Organisation.id))) == 1
        assert session.scalar(select(func.count(Therapist.id))) == 40
        assert session.scalar(select(func.count(Member.id))) == len(DEMO_PEOPLE)
        assert session.scalar(select(func.count(Authorisation.id))) == 2
    for person in DEMO_PEOPLE:
        actor = actors.resolve(db, f"dev:{person.sender}")
        assert actor.member_id is not None and actor.role is person.role
    ben = actors.resolve(db, "dev:ben")
    assert [g.sessions_remaining for g in grants.list_mine(db, ben)] == [7]
    # Dan has seen a therapist, so the existing-relationship offer is open to him
    dan = actors.resolve(db, "dev:dan")
    (offer,) = grants.open_offers(db, dan)
    assert grants.join(db, dan, offer.authorisation_id).sessions_remaining == 4
    chloe = actors.resolve(db, "dev:chloe", "chloe@northwind.example")
    assert invites.redeem(db, chloe, DEMO_INVITE_CODE.lower()).grant.sessions_remaining == 7
    assert actors.resolve(db, "dev:dr-therapist").therapist_id is not None


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [[], ["migrate"], ["seed"], ["serve"], ["demo-identities"]])
def test_every_command_has_help(command):
    result = _cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_migrate_seed_and_demo_identities_from_the_command_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    assert _cli("migrate", env=env).returncode == 0
    seeded = _cli("seed", "--demo", "--therapists", "30", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert "Demo data ready" in seeded.stdout
    printed = _cli("demo-identities", env=env).stdout
    for person in DEMO_PEOPLE:
        assert person.sender in printed
