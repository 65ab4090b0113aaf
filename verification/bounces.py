"""Bounces read back from the sender's mailbox over IMAP (VERIFICATION_BOUNCE_IMAP_URL), every
minute by a Django-Q2 schedule. QQ and 163 accept a mail at once and bounce it later, so a
mistyped address shows only here.

- `flufl.bounce` (GNU Mailman's detectors: RFC 3464 DSNs and the common other formats) says
  whether a mail is a bounce, and whether it is permanent.
- A bounce counts only when it names a Message-ID this site sent (SECURITY.md 27): the random
  part of each attempt's Message-ID (verification/attempts.py) is known to nobody but the
  mail's recipient. It is matched to that attempt and its address, which the site stored.
- A bounce handled is flagged `\\Seen` and `$VerifyBounce`, never deleted or moved; the rest of
  the box is left alone. Each poll reads only what arrived since the last (the box's UIDs);
  the first starts two days back.
"""

import codecs
import email
import email.policy
import hashlib
import logging
import re
import ssl
from datetime import timedelta
from email.message import Message
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Exists
from flufl.bounce import all_failures
from imapclient import IMAPClient

from verification import clock, signals, suppression
from verification.models import BounceMailboxCursor, MessageAttempt, OutboundEmail

logger = logging.getLogger(__name__)

HANDLED = b"$VerifyBounce"
# A poll reads at most this many new mails; the next one reads on.
BATCH = 200
# A bounce is a report and our small mail, a few kB; anyone can mail the box, and the
# detectors take about a third of a second a megabyte, so a bigger mail is left unread: a few
# of them would take a poll past its job's timeout.
MAX_BOUNCE_BYTES = 256 * 1024
_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^>\s]+>)", re.I | re.M)


def poll_bounce_mailbox() -> dict[str, int]:
    """Read the mail that arrived in the bounce mailbox since the last poll, and record the
    bounces among it."""
    url = settings.VERIFICATION_BOUNCE_IMAP_URL
    if not url:
        return {"read": 0, "bounces": 0}
    parts = urlsplit(url)
    with _connect(parts) as client:
        status = client.select_folder(unquote(parts.path.lstrip("/")) or "INBOX")
        cursor = _cursor(parts, client, uidvalidity=status[b"UIDVALIDITY"])
        # "n:*" always names the newest mail, even one older than n.
        new = client.search(["UID", f"{cursor.last_uid + 1}:*"])
        uids = sorted(uid for uid in new if uid > cursor.last_uid)[:BATCH]
        bounces = 0
        sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
        for uid in uids:
            if sizes[uid][b"RFC822.SIZE"] <= MAX_BOUNCE_BYTES:
                raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
                if _record_bounce_or_leave_alone(uid, raw):
                    client.add_flags([uid], [b"\\Seen", HANDLED])
                    bounces += 1
            else:
                logger.info("Bounce mailbox: mail %s is too big for a bounce; left unread", uid)
            # Mail by mail: a poll stopped midway (its job's timeout) goes on after what it read.
            BounceMailboxCursor.objects.filter(pk=cursor.pk).update(last_uid=uid)
    logger.info("Bounce mailbox: read %s new mails, %s bounces", len(uids), bounces)
    return {"read": len(uids), "bounces": bounces}


def _connect(parts):
    secure = parts.scheme == "imaps"
    # The system's trust store (SSL_CERT_FILE names a private CA's, as for SMTP).
    client = IMAPClient(
        parts.hostname,
        port=parts.port or (993 if secure else 143),
        ssl=secure,
        ssl_context=ssl.create_default_context() if secure else None,
        timeout=settings.EMAIL_TIMEOUT,
    )
    client.login(unquote(parts.username or ""), unquote(parts.password or ""))
    return client


def _cursor(parts, client, *, uidvalidity):
    # The URL without its password names the box: a new password keeps the place read to.
    name = hashlib.sha256(f"{parts.username}@{parts.hostname}:{parts.port}{parts.path}".encode()).hexdigest()
    cursor = BounceMailboxCursor.objects.filter(mailbox=name).first()
    if cursor is None or cursor.uidvalidity != uidvalidity:
        # A box read for the first time (or rebuilt): from the mail of the last two days, not
        # through years of someone's inbox.
        recent = client.search(["SINCE", (clock.now() - timedelta(days=2)).date()])
        start = min(recent) - 1 if recent else max(client.search(["ALL"]) or [0])
        cursor, _ = BounceMailboxCursor.objects.update_or_create(
            mailbox=name, defaults={"uidvalidity": uidvalidity, "last_uid": start}
        )
    return cursor


def _record_bounce_or_leave_alone(uid: int, raw: bytes) -> bool:
    """record_bounce, for one mail of the box: anyone can mail it, so a mail that trips the
    reader is left alone (and logged), never a stop for the mail after it. The database
    failing is no fault of the mail: the poll stops there, and the next one reads it again."""
    try:
        return record_bounce(raw=raw)
    except DatabaseError:
        raise
    except Exception:
        logger.warning("Bounce mailbox: mail %s could not be read; left alone", uid, exc_info=True)
        return False


def record_bounce(*, raw: bytes) -> bool:
    """Record the bounce in `raw`, if it is one and names a mail this site sent; say whether it
    was."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # anyone can mail this box; a detector that trips on a mail is no bounce
        logger.warning("Bounce detectors failed on a mail; left alone", exc_info=True)
        return False
    if not (temporary or permanent):
        return False
    attempt = MessageAttempt.objects.filter(message_id__in=_returned_message_ids(message)).first()
    if attempt is None:
        return False
    recipient = attempt.recipient.encode()
    is_permanent = recipient in permanent or (recipient not in temporary and bool(permanent))
    record_bounce_of(attempt, permanent=is_permanent, reason=_reason(message))
    return True


def _returned_message_ids(message: Message) -> set[str]:
    """The Message-IDs in the returned original: its headers (message/rfc822 or
    text/rfc822-headers), or quoted in the text by the formats that paste it there."""
    own = message.get("Message-ID", "").strip()
    found = set()
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            found.update(str(inner.get("Message-ID", "")).strip() for inner in part.get_payload())
        elif part.get_content_maintype() == "text":
            found.update(_MESSAGE_ID.findall(_text_of(part)))
    return found - {own, ""}


def _text_of(part):
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:  # a charset nobody knows: the Message-IDs we look for are ASCII
        charset = "utf-8"
    return payload.decode(charset, errors="replace")


def _reason(message: Message) -> str:
    """The receiving server's words (RFC 3464 Diagnostic-Code, else Status), else the
    bounce's subject."""
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            for block in part.get_payload():
                words = block.get("Diagnostic-Code") or block.get("Status")
                if words and block.get("Final-Recipient"):
                    # "smtp; 550 …": the diagnostic's type is no reason
                    return " ".join(str(words).partition(";")[2].split() or str(words).split())[:500]
    return " ".join(str(message.get("Subject", "")).split())[:500] or "returned"


@transaction.atomic
def record_bounce_of(attempt: MessageAttempt, *, permanent: bool, reason: str) -> None:
    """Write the bounce on its attempt and mail; a permanent one suppresses the address (read
    over IMAP here, or told by an ESP's webhook: verification/esp_events.py)."""
    MessageAttempt.objects.filter(pk=attempt.pk).update(
        bounced_at=clock.now(), bounce_permanent=permanent, bounce_reason=reason
    )
    kind = "permanent" if permanent else "temporary"
    # The mail's state follows the bounce of its latest attempt; an earlier one's late bounce
    # is kept on that attempt only.
    later = MessageAttempt.objects.filter(email_id=attempt.email_id, pk__gt=attempt.pk)
    OutboundEmail.objects.filter(pk=attempt.email_id).exclude(Exists(later)).update(
        status=OutboundEmail.Status.BOUNCED, last_error=f"Bounced ({kind}): {reason}"[:2000]
    )
    if permanent:
        suppression.suppress_address(
            address=attempt.recipient, source=suppression.Source.BOUNCE, reason=reason
        )
    signals.send_after_commit(
        signals.mail_bounced,
        sender=OutboundEmail,
        email=attempt.email,
        address=attempt.recipient,
        permanent=permanent,
        reason=reason,
    )
