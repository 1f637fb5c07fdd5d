"""The payment gateway without Stripe: records charges in memory and serves a local page that
stands in for Stripe's hosted card page, so the demo works end to end with no key."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from backend.adapters.payments import (
    CardSetupCompleted,
    CardSetupLink,
    ChargeRequest,
    ChargeResult,
    PaymentOutcome,
    RefundResult,
    SavedCard,
)

TEST_CARD_LAST4 = "4242"
DECLINING_CARD_LAST4 = "0341"  # Stripe's test card that saves fine and is declined when charged


@dataclass
class _Setup:
    session_id: str
    setup_intent_id: str
    customer_reference: str
    card: SavedCard | None = None


def _token(prefix: str) -> str:
    return f"{prefix}_offline_{secrets.token_urlsafe(16)}"


class OfflineGateway:
    def __init__(self, *, public_base_url: str):
        self._public_base_url = public_base_url.rstrip("/")
        self._lock = threading.Lock()
        self._setups: dict[str, _Setup] = {}  # by checkout session id
        self._declining_cards: set[str] = set()
        self._charges: dict[str, ChargeResult] = {}  # by idempotency key
        # by customer, booking and attempt
        self._by_attempt: dict[tuple[str, str, str], ChargeResult] = {}
        self._refunds: dict[str, RefundResult] = {}
        self.payments: list[ChargeRequest] = []  # what was charged, for the operator and tests

    def create_customer(self, *, organisation_id: int, name: str) -> str:
        return f"cus_offline_{organisation_id}"

    def create_card_setup(self, *, customer_reference: str,
                          organisation_id: int) -> CardSetupLink:
        setup = _Setup(_token("cs"), _token("seti"), customer_reference)
        with self._lock:
            self._setups[setup.session_id] = setup
        return CardSetupLink(setup.session_id,
                             f"{self._public_base_url}/offline-checkout?session={setup.session_id}")

    def knows_setup(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._setups

    def complete_setup(self, session_id: str, *,
                       declining: bool = False) -> CardSetupCompleted | None:
        """What pressing "Save" on the hosted page does: the card is saved and the event the
        provider would send is returned, to be applied like a webhook's."""
        last4 = DECLINING_CARD_LAST4 if declining else TEST_CARD_LAST4
        now = datetime.now(timezone.utc)
        with self._lock:
            setup = self._setups.get(session_id)
            if setup is None:
                return None
            if setup.card is None:
                method = _token("pm")
                setup.card = SavedCard(setup.customer_reference, method, "visa", last4, 12,
                                       now.year + 3, now)
                if declining:
                    self._declining_cards.add(method)
        # Named as Stripe names the event this page stands in for.
        return CardSetupCompleted(_token("evt"), "checkout.session.completed",
                                  setup.setup_intent_id)

    def saved_card(self, setup_reference: str) -> SavedCard | None:
        with self._lock:
            return next((setup.card for setup in self._setups.values()
                         if setup.setup_intent_id == setup_reference), None)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            if request.idempotency_key not in self._charges:
                if request.payment_method_reference in self._declining_cards:
                    result = ChargeResult(PaymentOutcome.DECLINED, _token("pi"), "card_declined")
                else:
                    result = ChargeResult(PaymentOutcome.SUCCEEDED, _token("pi"))
                    self.payments.append(request)
                self._charges[request.idempotency_key] = result
                attempt = (request.customer_reference, request.metadata.get("booking_id", ""),
                           request.metadata.get("charge_attempt", ""))
                self._by_attempt[attempt] = result
            return self._charges[request.idempotency_key]

    def find_charge(self, *, customer_reference: str, booking_id: int,
                    attempt: int) -> ChargeResult | None:
        with self._lock:
            return self._by_attempt.get((customer_reference, str(booking_id), str(attempt)))

    def refund(self, *, payment_reference: str, idempotency_key: str,
               metadata: dict[str, str]) -> RefundResult:
        with self._lock:
            return self._refunds.setdefault(idempotency_key,
                                            RefundResult(_token("re"), succeeded=True))
