"""The Slack and Teams manifests in the repository say what the channels expect."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from backend.services.slack.settings import BOT_SCOPES, CALLBACK_PATH

MANIFESTS = Path(__file__).resolve().parents[2] / "channels" / "manifests"


def _yaml_list(text: str, key: str) -> list[str]:
    """Items of a block list under `key:` (enough YAML for this manifest; .venv has no PyYAML)."""
    block = re.search(rf"^\s*{key}:\n((?:\s+- .*\n)+)", text, re.MULTILINE)
    assert block, key
    return [line.split("- ", 1)[1].split("#")[0].strip() for line in block.group(1).splitlines()]


def test_slack_manifest_scopes_events_and_urls():
    text = (MANIFESTS / "slack-app-manifest.yml").read_text()
    assert set(_yaml_list(text, "bot")) >= {"chat:write", "users:read", "users:read.email",
                                            "im:history", "app_mentions:read"}
    assert set(_yaml_list(text, "bot")) == set(BOT_SCOPES)  # what "Add to Slack" asks for
    assert set(_yaml_list(text, "bot_events")) == {"message.im", "app_mention",
                                                   "app_uninstalled", "tokens_revoked"}
    urls = re.findall(r"request_url: (\S+)", text)
    assert urls == ["https://<host>/webhooks/slack/webhook"] * 2
    assert _yaml_list(text, "redirect_urls") == [f"https://<portal>{CALLBACK_PATH}"]
    assert re.search(r"interactivity:\n\s+is_enabled: true", text)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_teams_manifest_bot_and_icons():
    manifest = json.loads((MANIFESTS / "teams" / "manifest.json").read_text())
    [bot] = manifest["bots"]
    assert set(bot["scopes"]) >= {"personal", "team"}
    assert bot["botId"] == manifest["webApplicationInfo"]["id"]
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["name"]["short"]) <= 30
    assert _png_size(MANIFESTS / "teams" / manifest["icons"]["color"]) == (192, 192)
    assert _png_size(MANIFESTS / "teams" / manifest["icons"]["outline"]) == (32, 32)
