"""Where e-mail goes: an SMTP server (aiosmtplib), or `.eml` files in a folder for development."""

from __future__ import annotations

import asyncio
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import aiosmtplib

from session_api.config import Settings


class SendFailure(Exception):
    """An attempt that did not reach its destination.

    `permanent`: trying again cannot help (the recipient was refused for good).
    `unreachable`: the destination itself is down, so the rest of a batch need not try.
    """

    def __init__(self, reason: str, *, permanent: bool = False, unreachable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.unreachable = unreachable


class Mailer(Protocol):
    """Sends e-mail; entered once per batch so a connection can serve many messages."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def send(self, message: EmailMessage, *, name: str) -> None:
        """Send one message; `name` is stable across retries of the same message."""


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when a host is configured, else `.eml` files under the mail folder."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return DirectoryMailer(settings.mail_dir)


class SmtpMailer:
    """One SMTP connection, opened on first use and reused for the rest of a batch."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def send(self, message: EmailMessage, *, name: str) -> None:
        """Send over the open connection, connecting (and logging in) first if needed."""
        try:
            smtp = await self._connected()
            await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            raise SendFailure(
                "the SMTP server refused the recipient: "
                + "; ".join(f"{r.code} {r.message}" for r in error.recipients),
                permanent=all(code >= 500 for code in codes),
            ) from error
        except aiosmtplib.SMTPDataError as error:
            raise SendFailure(
                f"the SMTP server refused the message: {error.code} {error.message}",
                permanent=error.code >= 500,
            ) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            await self._close()
            raise SendFailure(
                f"SMTP server {self._address} unavailable: {error}", unreachable=True
            ) from error

    @property
    def _address(self) -> str:
        return f"{self._settings.smtp_host}:{self._settings.smtp_port}"

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            # True insists on STARTTLS (refusing servers without it); False never tries it.
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


class DirectoryMailer:
    """Writes each message to `<folder>/<name>.eml`; a resend replaces the same file."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._folder_made = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    async def send(self, message: EmailMessage, *, name: str) -> None:
        """Write the message atomically, so a reader never sees half a file."""
        try:
            if not self._folder_made:
                await asyncio.to_thread(self._folder.mkdir, parents=True, exist_ok=True)
                self._folder_made = True
            await asyncio.to_thread(_write_atomically, self._folder / f"{name}.eml", message)
        except OSError as error:
            raise SendFailure(
                f"cannot write to {self._folder}: {error}", unreachable=True
            ) from error


def _write_atomically(path: Path, message: EmailMessage) -> None:
    # Flattening a message is CPU work too; it runs here, off the event loop.
    content = bytes(message)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
