"""Chat with the running assistant in the terminal, as one of the demo people.

Talks to Rasa's development REST channel (`dev_rest`), which in development mode trusts the sender
id as the identity `dev:<sender>`. Buttons are listed with numbers: type the number to press one.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://localhost:5005/webhooks/dev_rest/webhook"


def send(url: str, sender: str, text: str) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def show(replies: list[dict]) -> list[dict]:
    """Print the bot's messages; return the buttons of the last message that had any."""
    buttons: list[dict] = []
    for reply in replies:
        if reply.get("text"):
            print(f"bot> {reply['text']}")
        if reply.get("custom"):
            print(f"bot> {json.dumps(reply['custom'])}")
        if reply.get("buttons"):
            buttons = reply["buttons"]
            for number, button in enumerate(buttons, start=1):
                print(f"      [{number}] {button.get('title')}")
    return buttons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as", dest="sender", default="ben",
                        help="the demo person to chat as (see `python -m backend demo-identities`)")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help=f"Rasa's webhook (default {DEFAULT_URL})")
    args = parser.parse_args()
    print(f"Chatting as '{args.sender}'. Ctrl-D or Ctrl-C to leave.")
    buttons: list[dict] = []
    while True:
        try:
            text = input(f"{args.sender}> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1].get("payload", text)
        try:
            buttons = show(send(args.url, args.sender, text))
        except (urllib.error.URLError, TimeoutError) as error:
            print(f"Could not reach the assistant at {args.url} ({error}). Is `make run` running?",
                  file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
