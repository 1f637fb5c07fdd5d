"""Invite codes: 50 random bits in Crockford's base 32, typed forgivingly.

Crockford's alphabet leaves out I, L, O and U, so nothing reads two ways; on input, lower case,
spaces and dashes are ignored and the look-alikes O, I and L are read as 0, 1 and 1.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 10 symbols x 5 bits = 50 bits (less a sliver: see new_code)
GROUP = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """A fresh code for display, e.g. "7KQ2M-X9D4R".

    A code always has a digit, so that it never reads as two words in a sentence ("my code is
    tpqte hbhee"); this drops one code in forty, under 0.04 of the 50 bits.
    """
    while True:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if any(ch.isdigit() for ch in raw):
            return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def normalise(typed: str) -> str | None:
    """The canonical code for what someone typed, or None if it cannot be a code."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -_.\t").translate(_LOOKALIKES)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def canonical(code: str) -> str:
    """The canonical form of a code made here (`new_code`, the demo's); ValueError otherwise."""
    cleaned = normalise(code)
    if cleaned is None:
        raise ValueError(f"not an invite code: {code!r}")
    return cleaned


def code_hash(canonical: str) -> str:
    # Codes carry 50 random bits, so a plain digest is enough: there is nothing to brute-force
    # offline that the online throttle would not already stop.
    return hashlib.sha256(canonical.encode()).hexdigest()
