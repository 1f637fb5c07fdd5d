"""Configuration from environment variables, with documented defaults (see README)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.domain.handoffs import OfficeHours
from contracts.settings import (
    DEFAULT_BACKEND_PORT,
    DEFAULT_DISPATCHER_PORT,
    DEFAULT_TIMEZONE,
    DEV_SERVICE_TOKEN,
    LOOPBACK,
)
from contracts.web_identity import DEFAULT_BASE_URL

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{REPO_ROOT / 'data' / 'backend.sqlite3'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = Field(DEFAULT_SQLITE_URL, alias="DATABASE_URL")
    host: str = Field(LOOPBACK, alias="BACKEND_HOST")
    port: int = Field(DEFAULT_BACKEND_PORT, alias="BACKEND_PORT")
    # Shared secret of the trusted callers (action server, channels); production mode refuses
    # the development default (contracts/deployment.py).
    service_token: str = Field(DEV_SERVICE_TOKEN, alias="BACKEND_SERVICE_TOKEN")
    max_body_bytes: int = Field(64 * 1024, alias="BACKEND_MAX_BODY_BYTES")

    # Safe retries: how long a caller's first answer per Idempotency-Key is replayed, how long
    # a repeat waits for a first request still running (then 409 in_progress), and after how
    # long a request left running by a stopped process is taken over by a repeat.
    idempotency_ttl_hours: float = Field(24, alias="IDEMPOTENCY_TTL_HOURS")
    idempotency_wait_seconds: float = Field(5, alias="IDEMPOTENCY_WAIT_SECONDS")
    idempotency_stale_seconds: float = Field(300, alias="IDEMPOTENCY_STALE_SECONDS")

    cancellation_window_hours: int = Field(48, alias="CANCELLATION_WINDOW_HOURS")
    invite_ttl_days: int = Field(30, alias="INVITE_TTL_DAYS")
    redeem_attempts_limit: int = Field(5, alias="REDEEM_ATTEMPTS_LIMIT")
    redeem_attempts_window_minutes: int = Field(15, alias="REDEEM_ATTEMPTS_WINDOW_MINUTES")
    reporting_min_group: int = Field(5, alias="REPORTING_MIN_GROUP")
    timezone: str = Field(DEFAULT_TIMEZONE, alias="SERVICE_TIMEZONE")
    session_minutes: int = Field(50, alias="SESSION_MINUTES")
    booking_horizon_days: int = Field(28, alias="BOOKING_HORIZON_DAYS")

    # Payments. Without a Stripe key an offline gateway records charges locally and serves a
    # stand-in for Stripe's hosted card page, so the demo works end to end.
    stripe_api_key: str = Field("", alias="STRIPE_API_KEY")
    stripe_webhook_secret: str = Field("", alias="STRIPE_WEBHOOK_SECRET")
    # Override Stripe's API address (tests point it at a local stand-in).
    stripe_api_base: str = Field("", alias="STRIPE_API_BASE")
    # Each Stripe call's timeout (it is retried twice on network faults, same key).
    stripe_timeout_seconds: float = Field(15, alias="STRIPE_TIMEOUT_SECONDS")
    stripe_webhook_tolerance_seconds: int = Field(300, alias="STRIPE_WEBHOOK_TOLERANCE_SECONDS")
    # Where people's browsers reach this backend (success/cancel pages, offline card page).
    public_base_url: str = Field(DEFAULT_BASE_URL, alias="PUBLIC_BASE_URL")
    # How often `serve` re-asks the provider about charges whose answer never came back.
    # How often `serve` runs the reconciliation sweep (payments owed and not taken, taken and
    # no longer owed, answers that never came back), and how it paces retries.
    pending_charge_sweep_seconds: float = Field(300, alias="PENDING_CHARGE_SWEEP_SECONDS")
    # A change younger than this is left to the request settling it.
    payment_sweep_grace_seconds: float = Field(600, alias="PAYMENT_SWEEP_GRACE_SECONDS")
    payment_retry_first_seconds: float = Field(60, alias="PAYMENT_RETRY_FIRST_SECONDS")
    payment_retry_longest_seconds: float = Field(6 * 3600, alias="PAYMENT_RETRY_LONGEST_SECONDS")
    # Admins are told when a payment or refund has failed this many tries.
    payment_alert_after_tries: int = Field(5, alias="PAYMENT_ALERT_AFTER_TRIES")

    # Notifications (backend/services/outbox/, the dispatcher process: README "Notifications").
    rasa_url: str = Field("http://127.0.0.1:5005", alias="RASA_URL")
    rasa_api_token: str = Field("", alias="RASA_API_TOKEN")
    dispatcher_host: str = Field(LOOPBACK, alias="DISPATCHER_HOST")
    dispatcher_port: int = Field(DEFAULT_DISPATCHER_PORT, alias="DISPATCHER_PORT")
    dispatcher_poll_seconds: float = Field(1.0, alias="DISPATCHER_POLL_SECONDS", gt=0)
    dispatcher_lease_seconds: float = Field(60, alias="DISPATCHER_LEASE_SECONDS", gt=0)
    dispatcher_max_attempts: int = Field(8, alias="DISPATCHER_MAX_ATTEMPTS", ge=1)
    dispatcher_retry_seconds: float = Field(5, alias="DISPATCHER_RETRY_SECONDS", gt=0)
    dispatcher_retry_max_seconds: float = Field(900, alias="DISPATCHER_RETRY_MAX_SECONDS", gt=0)
    dispatcher_schedule_seconds: float = Field(60, alias="DISPATCHER_SCHEDULE_SECONDS", gt=0)
    reminder_hours_before: int = Field(24, alias="REMINDER_HOURS_BEFORE", ge=1)
    confirmation_business_hours: int = Field(4, alias="CONFIRMATION_BUSINESS_HOURS", ge=1)
    business_hours: str = Field("09:00-17:30", alias="BUSINESS_HOURS")
    business_holidays: str = Field("GB-ENG", alias="BUSINESS_HOLIDAYS")
    # When the service's own team answers handoffs (the staff console, `expected_answer`): a
    # range of weekdays and one daily window in SERVICE_TIMEZONE.
    staff_office_hours: str = Field("Mon-Fri 09:00-17:00", alias="STAFF_OFFICE_HOURS")
    authorisation_low_percent: int = Field(80, alias="AUTHORISATION_LOW_PERCENT", ge=1, le=100)
    # Development only (production refuses it): a file holding the ISO time the service takes
    # as "now", so process-level tests move the clock (backend/clock.py).
    dev_clock_file: str = Field("", alias="DEV_CLOCK_FILE")

    @model_validator(mode="after")
    def _office_hours_readable(self) -> Settings:
        self.office_hours()  # ValueError at start, saying what is wrong
        return self

    def office_hours(self) -> OfficeHours:
        return OfficeHours.parse(self.staff_office_hours, self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
