"""Chat with the running assistant in the terminal, as one of the demo people.

Talks to Rasa's development REST channel (`dev_rest`), which in development mode trusts the sender
id as the identity `dev:<sender>`. Buttons are listed with numbers: type the number to press one.
What the service pushes (a booking confirmed, a reminder ...) is printed as it arrives: a thread
asks the channel's `/pushes` route, which answers as soon as one is there.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://localhost:5005/webhooks/dev_rest/webhook"
PUSH_WAIT_SECONDS = 25


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


def pushes_url(webhook_url: str, sender: str) -> str:
    base = webhook_url.rsplit("/webhook", 1)[0]
    query = urllib.parse.urlencode({"sender": sender, "wait": PUSH_WAIT_SECONDS})
    return f"{base}/pushes?{query}"


def print_pushes(url: str, sender: str, buttons: list[list[dict]]) -> None:
    """Forever: wait for pushes and print them (their buttons become the ones to press)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=PUSH_WAIT_SECONDS + 10) as response:
                pushed = json.load(response)
        except (urllib.error.URLError, TimeoutError, ValueError):
            time.sleep(5)  # the assistant is not up (yet): ask again later
            continue
        if pushed:
            print()
            buttons[0] = show(pushed) or buttons[0]
            print(f"{sender}> ", end="", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as", dest="sender", default="ben",
                        help="the demo person to chat as (see `python -m backend demo-identities`)")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help=f"Rasa's webhook (default {DEFAULT_URL})")
    args = parser.parse_args()
    print(f"Chatting as '{args.sender}'. Ctrl-D or Ctrl-C to leave.")
    buttons: list[list[dict]] = [[]]  # shared with the thread printing pushes
    threading.Thread(target=print_pushes, args=(pushes_url(args.url, args.sender), args.sender,
                                                buttons), daemon=True).start()
    while True:
        try:
            text = input(f"{args.sender}> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons[0]):
            text = buttons[0][int(text) - 1].get("payload", text)
        try:
            buttons[0] = show(send(args.url, args.sender, text))
        except (urllib.error.URLError, TimeoutError) as error:
            print(f"Could not reach the assistant at {args.url} ({error}). Is `make run` running?",
                  file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
