"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from backend.models.audit import AuditEvent, HandoffReply, HandoffRequest
from backend.models.authorisation import Authorisation, Grant, Invite, RedeemAttempt
from backend.models.base import Base
from backend.models.booking import Booking, Charge, Voucher
from backend.models.idempotency import IdempotentReply
from backend.models.notifications import NotificationDelivery
from backend.models.organisation import ChatIdentity, Member, Organisation
from backend.models.payments import Notification, PaymentCard, StripeEvent
from backend.models.signin import EmbedSecret, OrganisationSso, PortalSession, SignInLink
from backend.models.slack import SlackInstallation, SlackInstallState
from backend.models.teams import TeamsConsentState, TeamsSignInState
from backend.models.therapist import (
    Availability,
    Therapist,
    TherapistIssue,
    TherapistLanguage,
    TherapistSearchHour,
    TherapistTherapyType,
)
from backend.models.waitlist import Watch

__all__ = [
    "AuditEvent",
    "Authorisation",
    "Availability",
    "Base",
    "Booking",
    "Charge",
    "ChatIdentity",
    "EmbedSecret",
    "Grant",
    "HandoffReply",
    "HandoffRequest",
    "IdempotentReply",
    "Invite",
    "Member",
    "Notification",
    "NotificationDelivery",
    "Organisation",
    "OrganisationSso",
    "PaymentCard",
    "PortalSession",
    "RedeemAttempt",
    "SignInLink",
    "SlackInstallState",
    "SlackInstallation",
    "StripeEvent",
    "TeamsConsentState",
    "TeamsSignInState",
    "Therapist",
    "TherapistIssue",
    "TherapistLanguage",
    "TherapistSearchHour",
    "TherapistTherapyType",
    "Voucher",
    "Watch",
]
