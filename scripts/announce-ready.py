"""Print one line as each process of `make run` becomes ready, and one when all of them are.

    .venv-rasa/bin/python scripts/announce-ready.py --backend http://127.0.0.1:8000 \\
        --actions http://127.0.0.1:5055 --rasa http://127.0.0.1:5005 --credentials credentials.yml

Runs in the Rasa environment for its YAML parser (the channels are read from --credentials). A
process counts as ready when its port accepts connections: aiohttp (the backend) and sanic (the
action server, Rasa) open it only after their start-up work (for Rasa: loading the model), and a
bare connection leaves no line in any access log. Started in the background by scripts/run.sh;
stops when everything is ready, after --timeout seconds, or when the process that started it is
gone.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml


def accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1):
            return True
    except OSError:
        return False


def channel_names(credentials: Path) -> list[str]:
    """The channels of a Rasa credentials file: `rest`, or `slack` for `channels.slack.SlackInput`
    (this project names each connector's module after its channel)."""
    keys = yaml.safe_load(credentials.read_text()) or {}
    return [key.split(".")[-2] if "." in key else key for key in keys]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, nargs="+", metavar="URL",
                        help="the backend's address (several for several servers)")
    parser.add_argument("--actions", required=True, nargs="+", metavar="URL")
    parser.add_argument("--rasa", required=True, nargs="+", metavar="URL")
    parser.add_argument("--dispatcher", nargs="+", default=[], metavar="URL",
                        help="the dispatcher's /health address (pushes; left out: not waited for)")
    parser.add_argument("--credentials", required=True, type=Path, metavar="FILE")
    parser.add_argument("--balancer", metavar="TEXT",
                        help="where the load balancer in front of them listens (said once all "
                             "are ready)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="give up after this many seconds (default 1800)")
    args = parser.parse_args()
    channels = f", channels: {', '.join(channel_names(args.credentials))}"
    waiting = [(name, url, details)  # what the ready line adds
               for name, urls, details in (("backend", args.backend, ""),
                                           ("action server", args.actions, ""),
                                           ("rasa", args.rasa, channels),
                                           ("dispatcher", args.dispatcher,
                                            ": pushing notifications through Rasa"))
               for url in urls]
    parent = os.getppid()
    deadline = time.monotonic() + args.timeout
    try:
        while waiting:
            if os.getppid() != parent:
                return 0
            if time.monotonic() > deadline:
                names = ", ".join(f"{name} ({url})" for name, url, _ in waiting)
                print(f"==> run: not ready after {args.timeout:.0f} s: {names}",
                      file=sys.stderr, flush=True)
                return 1
            for entry in list(waiting):
                name, url, details = entry
                if accepts_connections(url):
                    print(f"==> run: {name} ready on {url}{details}", flush=True)
                    waiting.remove(entry)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    if args.balancer:
        print(f"==> run: load balancer (HAProxy) on {args.balancer}", flush=True)
    print("==> run: all processes are ready (Ctrl-C stops them)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
