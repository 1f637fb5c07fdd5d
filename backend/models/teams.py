"""The single-use states of the "Connect Microsoft Teams" admin-consent flows in progress (only
their hashes are stored). The tenant connected is the organisation's `teams_tenant_id`."""

from __future__ import annotations

from backend.models.base import Base
from backend.models.install_states import InstallStateColumns


class TeamsConsentState(InstallStateColumns, Base):
    """The `state` of one admin-consent round trip, bound to the admin who started it."""

    __tablename__ = "teams_consent_states"
