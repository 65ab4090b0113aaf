"""The engine's settings and their defaults, in one place: a host project sets only what it
changes (allauth's `app_settings.py` keeps an app's defaults the same way).

`apply_defaults()` runs when Django makes the engine's AppConfig, before any app's models or
`ready()`, and gives `django.conf.settings` each default the project did not set; engine code
then reads `settings.VERIFICATION_…` as usual, also at import. A project that sets `Q_CLUSTER`
sets it whole: spread `Q_CLUSTER` below (`{**conf.Q_CLUSTER, "workers": 4}`).

Django's own settings (`SECRET_KEY`, `EMAIL_*`, `DEFAULT_FROM_EMAIL`) keep Django's defaults;
`SITE_URL` (the domain of each Message-ID) has none and must be set: `check_settings`
(verification/checks.py) says so at `manage.py check`, as it does of a value the engine
cannot work with.
"""

import copy
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS = {
    # Codes (SECURITY.md 1-4): digits, and guesses each code takes.
    "VERIFICATION_CODE_LENGTH": 6,
    "VERIFICATION_CODE_MAX_ATTEMPTS": 5,
    # Wrong codes at one address (all its codes together) (until a month passes without one): from this
    # many on, each guess waits longer (1 s, doubling, up to an hour)...
    "VERIFICATION_GUESSES_BEFORE_WAITS": 10,
    # ...and at this many, no more guesses but where the app lets one past (`guess_wait`'s
    # limit_applies; NIST SP 800-63B 5.2.2: at most 100 failed attempts).
    "VERIFICATION_GUESSES_MAX": 100,
    # Rate limits (SECURITY.md 10), in the database so that every process shares them. Mail to
    # one address: one per cooldown (seconds), a few per hour.
    "VERIFICATION_MAIL_COOLDOWN": 60,
    "VERIFICATION_MAILS_PER_HOUR": 5,
    # Requests that may send mail, and code guesses, from one client per hour. (Per address,
    # each code's own tries are the bound: a limit across its codes would let a stranger lock
    # the owner out.)
    "VERIFICATION_REQUESTS_PER_IP_PER_HOUR": 30,
    "VERIFICATION_CHECKS_PER_IP_PER_HOUR": 60,
    # Wrong passwords, and every password sign-in, from one client per hour (per client only:
    # a limit per account would let strangers lock the owner out); new sessions by password
    # for one account (only a right password spends it, and a new password starts a new count).
    "VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR": 30,
    "VERIFICATION_SIGNINS_PER_IP_PER_HOUR": 200,
    "VERIFICATION_SESSIONS_PER_ACCOUNT_PER_HOUR": 20,
    # Signed-in password changes of one account, each of which mails its owner a notice.
    "VERIFICATION_PASSWORD_CHANGES_PER_ACCOUNT_PER_HOUR": 5,
    # Per-client limits count an IPv6 client by its network of this prefix length.
    "VERIFICATION_IPV6_PREFIX": 64,
    # The Reply-To of every mail, when set (mail from an address nobody reads gets replies
    # into the void).
    "VERIFICATION_REPLY_TO": "",
    # The mailbox bounces come back to, read every minute, e.g. imaps://user:pass@host/INBOX.
    # Empty: bounces are not read.
    "VERIFICATION_BOUNCE_IMAP_URL": "",
    # A composer of its own for a kind of mail, by the kind's name (dotted path to a callable
    # OutboundEmail -> EmailMessage): a project words a kind its own way.
    "VERIFICATION_MAIL_COMPOSERS": {},
    # Delivery: attempts per mail, retried with exponential backoff and jitter from the delay
    # (seconds), doubling up to the max; then the mail is "failed".
    "VERIFICATION_MAIL_MAX_ATTEMPTS": 6,
    "VERIFICATION_MAIL_RETRY_DELAY": 30.0,
    "VERIFICATION_MAIL_RETRY_MAX_DELAY": 3600.0,
    # SMTP sessions a worker keeps open and sends over at once (each worker its own): a
    # provider that takes a while to accept each message is kept busy by several.
    "VERIFICATION_SMTP_CONNECTIONS": 8,
    # Messages per second to the provider, shared by every worker of every cluster; None: no cap.
    # Free-mail providers suspend senders that go faster than they allow.
    "VERIFICATION_MAIL_RATE": None,
    # Sent, failed and cancelled mail, and expired codes and links, are deleted after this many
    # days, that many rows per statement and transaction.
    "VERIFICATION_RETENTION_DAYS": 30,
    "VERIFICATION_SWEEP_BATCH_SIZE": 1000,
}

# Django-Q2 with the ORM broker: the queue is a table of the default database, no Redis. The
# outbox record owns retries, so Django-Q2 never runs a job again on its own account (a job never
# raises; max_attempts 1 is a second guard). Only a job lost with its worker is handed out again,
# `retry` seconds after it was taken: longer than `timeout`, so a slow job never runs twice at
# once. The engine reads `timeout`: a mail job starts no send after half of it.
Q_CLUSTER = {
    "name": "mail",
    "orm": "default",
    "workers": 2,
    "timeout": 60,
    "retry": 120,
    "max_attempts": 1,
    "ack_failures": True,
    # A successful job leaves no row (the OutboundEmail is the record); failures are kept.
    "save_limit": -1,
    "catch_up": False,
}


def apply_defaults() -> None:
    """Give `django.conf.settings` each of the engine's defaults that the project did not set."""
    for name, value in [*DEFAULTS.items(), ("Q_CLUSTER", Q_CLUSTER)]:
        if hasattr(settings, name):
            continue
        if name == "Q_CLUSTER" and "django_q.conf" in sys.modules:
            # Django-Q2 read its settings when its app was loaded: a default now would be ours
            # alone, and its cluster would run on its own defaults (a Redis broker).
            raise ImproperlyConfigured(
                'Set Q_CLUSTER (e.g. {**verification.conf.Q_CLUSTER}), or list "verification" '
                'before "django_q" in INSTALLED_APPS.'
            )
        setattr(settings, name, copy.deepcopy(value))
