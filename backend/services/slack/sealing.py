"""The workspaces' bot tokens are stored encrypted with MultiFernet (AES-128-CBC + HMAC-SHA256)
under the keys of SLACK_TOKEN_KEYS: comma-separated, the first encrypts, every one decrypts, so a
new key is put first and the old one dropped once `python -m backend slack-reseal` has
re-encrypted the stored tokens. Each key is any secret of at least 32 characters (a Fernet key is
derived from it). Production mode refuses the development default (contracts/deployment.py)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from contracts.settings import DEV_SLACK_TOKEN_KEY as DEV_KEY

__all__ = ["DEV_KEY", "ENV", "TokenSealer", "parse_keys"]

ENV = "SLACK_TOKEN_KEYS"


def parse_keys(text: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in text.split(",") if key.strip())


def _fernet(key: str) -> Fernet:
    derived = hashlib.sha256(f"therapy-slack-token-sealing:{key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


class TokenSealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError(f"{ENV} names no key.")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        """The token; ValueError if no key of SLACK_TOKEN_KEYS decrypts it."""
        return self._apply(self._fernet.decrypt, sealed)

    def reseal(self, sealed: str) -> str:
        """The same token encrypted with the first key (key rotation)."""
        return self._apply(self._fernet.rotate, sealed)

    @staticmethod
    def _apply(operation: Callable[[bytes], bytes], sealed: str) -> str:
        try:
            return operation(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(f"a Slack token cannot be decrypted: is its key still in {ENV}?"
                             ) from None
