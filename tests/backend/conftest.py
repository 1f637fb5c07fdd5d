"""Fixtures shared by the backend tests."""

from __future__ import annotations

import pytest

from backend.adapters.offline_gateway import OfflineGateway
from tests.backend.stripe_fixtures import client, front, localstripe, stripe_org  # noqa: F401


@pytest.fixture
def gateway() -> OfflineGateway:
    """The payment gateway used without a Stripe key, serving its card page at this address."""
    return OfflineGateway(public_base_url="http://backend.test")
