"""Outgoing mail over SMTP (aiosmtplib), or, without SMTP_HOST in development, into the log."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from backend.services.signin.links import Mail
from backend.services.signin.settings import PortalSettings

log = logging.getLogger("backend.mail")


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    def __init__(self, settings: PortalSettings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        settings = self.settings
        await aiosmtplib.send(
            message, hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username or None, password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds)


class LogMailer:
    """Development only (no SMTP_HOST): the mail, link included, is written to the log."""

    async def send(self, mail: Mail) -> None:
        log.warning("SMTP_HOST is not set (development): mail to %s not sent; it reads:\n%s",
                    mail.to, mail.text)


def build_mailer(settings: PortalSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()
