"""The single-use states of "Connect Microsoft Teams" in progress (only their hashes are stored):
one for Microsoft's admin consent, then one for the admin's sign-in with Microsoft, which keeps
the tenant the consent named and the sign-in's nonce and PKCE verifier
(backend/services/teams/tenants.py). The tenant connected is the organisation's
`teams_tenant_id`."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base
from backend.models.install_states import InstallStateColumns


class TeamsConsentState(InstallStateColumns, Base):
    """The `state` of one admin-consent round trip, bound to the admin who started it."""

    __tablename__ = "teams_consent_states"


class TeamsSignInState(InstallStateColumns, Base):
    """The `state` of the sign-in with Microsoft that follows the consent, bound to the same
    admin: the tenant the consent named (to be matched by the ID token's `tid`), the nonce sent
    and the PKCE verifier kept for the token exchange."""

    __tablename__ = "teams_sign_in_states"

    tenant_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(128))
