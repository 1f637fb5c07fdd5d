"""Secrets the service must be able to read back (an organisation's SSO client secret, its
embed keys) are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) under a key derived from
SIGNIN_ENCRYPTION_KEY. Production mode refuses the development default (contracts/deployment.py)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from contracts.settings import DEV_SIGNIN_ENCRYPTION_KEY as DEV_KEY

__all__ = ["DEV_KEY", "ENV", "Sealer"]

ENV = "SIGNIN_ENCRYPTION_KEY"


class Sealer:
    def __init__(self, key: str) -> None:
        derived = hashlib.sha256(f"therapy-signin-sealing:{key}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; ValueError if it was sealed under another key or tampered with."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(f"a stored secret cannot be decrypted: was {ENV} changed?") from None
