"""Where the payment code's boundaries hold: Stripe's format stays in the Stripe adapter, and
the payment port knows no gateway (no import circle)."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.settings import REPO_ROOT

ADAPTERS = REPO_ROOT / "backend" / "adapters"
GATEWAY_MODULES = {"backend.adapters.stripe_gateway", "backend.adapters.offline_gateway",
                   "backend.adapters.gateways"}


def imported(path: Path) -> set[str]:
    """The modules a file imports (for `from package import module`, both names)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_payment_services_import_no_stripe_nor_a_gateway():
    services = sorted((REPO_ROOT / "backend" / "services" / "payments").glob("*.py"))
    assert len(services) >= 4
    for path in services:
        names = imported(path)
        assert not {name for name in names if name.split(".")[0] == "stripe"}, path.name
        assert not names & GATEWAY_MODULES, path.name


def test_the_port_imports_no_gateway_and_no_gateway_imports_the_builder():
    assert not imported(ADAPTERS / "payments.py") & GATEWAY_MODULES
    for gateway in ("stripe_gateway.py", "offline_gateway.py", "stripe_events.py"):
        assert "backend.adapters.gateways" not in imported(ADAPTERS / gateway)
