"""Email alerts with smtplib: text and HTML, the snapshot attached; STARTTLS or SSL."""

from __future__ import annotations

import contextlib
import html
import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from alerts.base import ChannelDownError, DeliveryError, Notifier
from config.alerts import EmailSettings


def _temporary(exc: smtplib.SMTPException) -> bool:
    """An SMTP refusal with a 4xx code (RFC 5321: transient, retry later) rather than a 5xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
    else:
        codes = [getattr(exc, "smtp_code", 500)]
    return bool(codes) and all(400 <= int(code) < 500 for code in codes)


class EmailNotifier(Notifier):
    channel = "email"

    def __init__(self, settings: EmailSettings):
        self.settings = settings

    def compose(self, kind: str, payload: dict[str, Any]) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = payload.get("to") or ", ".join(self.settings.recipients)
        if kind == "digest":
            msg["Subject"] = f"maskwatch daily compliance digest {payload['day']}"
            msg.set_content(payload["text"])
            msg.add_alternative(payload["html"], subtype="html")
            return msg
        msg["Subject"] = (
            f"maskwatch: {payload['label'].replace('_', ' ')} on {payload['camera']} at {payload['started_at']}"
        )
        lines = [f"{k}: {payload.get(k)}" for k in ("camera", "started_at", "label", "score", "snapshot")]
        page = payload.get("url")  # the console's page of this violation, when console.public_url is set
        if page:
            lines.append(f"review: {page}")
        msg.set_content("A person without a proper mask was seen.\n\n" + "\n".join(lines) + "\n")
        rows = "".join(
            f"<tr><th align=left>{k}</th><td>{html.escape(str(payload.get(k)))}</td></tr>"
            for k in ("camera", "started_at", "label", "score")
        )
        msg.add_alternative(
            f"<p>A person without a proper mask was seen.</p><table>{rows}</table>"
            f'<p><img src="cid:snapshot" alt="snapshot"></p>'
            + (f'<p><a href="{html.escape(str(page))}">Open it in the console</a></p>' if page else ""),
            subtype="html",
        )
        for key in ("snapshot", "face"):
            path = payload.get(key)
            if path and Path(path).exists():
                ctype = mimetypes.guess_type(path)[0] or "image/jpeg"
                maintype, subtype = ctype.split("/")
                msg.add_attachment(
                    Path(path).read_bytes(), maintype=maintype, subtype=subtype, filename=Path(path).name
                )
        return msg

    def deliver(self, key: int, kind: str, payload: dict[str, Any]) -> bool:
        """Synchronous: True once the server took the message. A header that cannot be built
        (``ValueError``) or a refusal of this message fails this alert; a server that cannot be
        reached or logged into is :class:`ChannelDownError` (every mail would fail alike)."""
        s = self.settings
        msg = self.compose(kind, payload)
        where = f"SMTP {s.host}:{s.port}"
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelDownError(f"{where}: {exc}") from exc
        with contextlib.closing(smtp):
            try:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
            except (OSError, smtplib.SMTPException) as exc:
                raise ChannelDownError(f"{where}: {exc}") from exc
            try:
                smtp.send_message(msg)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                if _temporary(exc):  # 4xx, "try again later": the server's state, not this mail's fault
                    raise ChannelDownError(f"{where} deferred the message: {exc}") from exc
                raise DeliveryError(f"{where} refused the message: {exc}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise ChannelDownError(f"{where}: {exc}") from exc
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass  # the server has the message; a lost goodbye changes nothing
        return True
