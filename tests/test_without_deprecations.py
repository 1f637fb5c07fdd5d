"""scripts/without-deprecations.py: third-party deprecations and the unactionable warnings are
dropped; the project's own warnings, and every other third-party warning, are shown."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
THIRD_PARTY = str(REPO / ".venv-rasa" / "lib" / "rasa" / "shared" / "core" / "slot_mappings.py")
PROJECT = str(REPO / "bot" / "rasa_server.py")


@pytest.fixture
def shown(monkeypatch):
    spec = importlib.util.spec_from_file_location("without_deprecations",
                                                  REPO / "scripts" / "without-deprecations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: list[str] = []
    monkeypatch.setattr(module, "show_warning", lambda message, *_: seen.append(str(message)))

    def show(message: str, category: type[Warning], filename: str) -> list[str]:
        seen.clear()
        module.show_unless_third_party_deprecation(message, category, filename, 1)
        return list(seen)

    return show


AUTO_FILL = ("Slot auto-fill has been removed in 3.0 and replaced with a new explicit mechanism "
             "to set slots.")


@pytest.mark.parametrize(("message", "category", "filename", "kept"), [
    ("pkg_resources is deprecated", DeprecationWarning, THIRD_PARTY, False),
    (AUTO_FILL, UserWarning, THIRD_PARTY, False),
    ("Slot 'x' uses a 'from_entity' mapping for a non-existent entity", UserWarning, THIRD_PARTY,
     True),
    ("this helper is deprecated", DeprecationWarning, PROJECT, True),
    (AUTO_FILL, UserWarning, PROJECT, True),
])
def test_what_is_shown(shown, message, category, filename, kept):
    assert shown(message, category, filename) == ([message] if kept else [])
