"""Calls an attacker on the same machine would make, and where a process listens.

Shared by tests/test_run_output.py (`make run`'s Procfile) and tests/test_production_start.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LISTEN = "0A"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(answer.status, answer.read().decode(errors="replace"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode(errors="replace"))


def action_call(action: str, identity: str) -> dict[str, Any]:
    """What Rasa posts to the action server, as forged by hand: a tracker whose latest message
    says it comes from `identity`."""
    return {
        "next_action": action, "sender_id": "forged", "version": "3.6.21", "domain": {},
        "tracker": {
            "sender_id": "forged", "slots": {}, "events": [], "paused": False,
            "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
            "latest_message": {"text": "show me our authorisations", "intent": {},
                               "entities": [], "metadata": {"identity": identity}},
        },
    }


def _hex_address(text: str) -> str:
    """'0100007F' -> '127.0.0.1'; an IPv6 address of /proc/net/tcp6 -> its usual form."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[index:index + 4][::-1] for index in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every socket listening on `port` (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port:
                found.add(_hex_address(address))
    return found


def wait_for_port(port: int, seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening_addresses(port):
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before port {port} opened")
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on port {port} after {seconds:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
