"""The domain's vocabulary, as in PRODUCT.md."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    MEMBER = "member"
    ADMIN = "admin"


class RiskKind(str, Enum):
    """What kind of risk a message showed (PRODUCT.md rule 7), most urgent first."""

    EMERGENCY = "emergency"
    DANGER_FROM_OTHERS = "danger_from_others"
    HARM_TO_OTHERS = "harm_to_others"
    SUICIDAL = "suicidal"
    SOMEONE_ELSE = "someone_else"


class Coverage(str, Enum):
    FIRST_RELATIONSHIP = "first_relationship"
    EXISTING_RELATIONSHIP = "existing_relationship"
    NEW_RELATIONSHIP = "new_relationship"


class Access(str, Enum):
    INVITE_ONLY = "invite_only"
    ALL_MEMBERS = "all_members"


class AuthorisationStatus(str, Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    REVOKED = "revoked"


class Modality(str, Enum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    PHONE = "phone"


class BookingStatus(str, Enum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# A slot is taken while a booking on it is in one of these states.
ACTIVE_BOOKING_STATUSES = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)
# A member has "seen" a therapist once a booking with them reached one of these states.
RELATIONSHIP_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


class VoucherStatus(str, Enum):
    HELD = "held"  # holds one session of the grant while the booking is open
    RELEASED = "released"  # given back to the grant (declined, or cancelled in time)
    USED = "used"  # the session counts as used: it is (or will be) charged


class WatchStatus(str, Enum):
    """A member's waitlist entry (backend/domain/waitlist.py)."""

    WAITING = "waiting"  # looked at by the dispatcher's scans
    TOLD = "told"  # a matching time was free: the member was told once, with buttons to book
    STOPPED = "stopped"  # the member no longer wants it
    EXPIRED = "expired"  # nothing matched before it ran out


class ChargeStatus(str, Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    REFUNDED = "refunded"


class DeliveryState(str, Enum):
    """Where one push of a notification to one chat identity is (backend/services/outbox/)."""

    PENDING = "pending"  # waiting for a dispatcher (at next_attempt_at after a failure)
    SENDING = "sending"  # claimed by a dispatcher until its lease ends
    DELIVERED = "delivered"  # in the person's conversation and channel
    FAILED = "failed"  # given up after the last attempt
    SKIPPED = "skipped"  # the bot said it in the conversation first
