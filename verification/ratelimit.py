"""Rate limits kept in the database, so they hold across every web process and machine.

Each (scope, key) has one row and each hit is one SQL statement: a generic cell rate
algorithm (GCRA). A rule of `count` per `seconds` lets a burst of `count` through, then one
more every `seconds / count`; so over any window of `seconds` at most 2 × count − 1 pass, and
over a day no more than the rate allows. The row holds one time, the theoretical arrival
time (`tat`) of the next hit: a hit passes when `tat` is no further ahead of now than the
burst allows, and then moves it on by one interval. The statement that reads it writes it, so
parallel requests are counted one after another, in the request's own transaction.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import connection, models
from django.utils.crypto import salted_hmac

from verification import clock
from verification.models import RateLimitBucket


class Scope(StrEnum):
    MAIL_TO_ADDRESS = "mail_to_address"
    MAIL_COOLDOWN = "mail_cooldown"
    REQUEST_FROM_CLIENT = "request_from_client"
    CHECK_FROM_CLIENT = "check_from_client"
    FAILED_SIGNIN_FROM_CLIENT = "failed_signin_from_client"
    SIGNIN_FROM_CLIENT = "signin_from_client"
    NEW_SESSION_FOR_ACCOUNT = "new_session_for_account"
    PASSWORD_CHANGE_FOR_ACCOUNT = "password_change_for_account"


@dataclass(frozen=True)
class Rule:
    count: int
    seconds: int

    @property
    def interval(self) -> float:
        """Seconds each hit moves the row's time on."""
        return self.seconds / self.count


def limits() -> dict[Scope, Rule]:
    """Scope -> its rule, from the settings."""
    return {
        # Mail to one address: a few an hour (the app keys it by purpose and address)...
        Scope.MAIL_TO_ADDRESS: Rule(settings.VERIFICATION_MAILS_PER_HOUR, 3600),
        # ...and one a minute of each kind (keyed by purpose and address), so that a code
        # asked for just after a sign-up is not held back by the sign-up's mail.
        Scope.MAIL_COOLDOWN: Rule(1, settings.VERIFICATION_MAIL_COOLDOWN),
        Scope.REQUEST_FROM_CLIENT: Rule(settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR, 3600),
        Scope.CHECK_FROM_CLIENT: Rule(settings.VERIFICATION_CHECKS_PER_IP_PER_HOUR, 3600),
        Scope.FAILED_SIGNIN_FROM_CLIENT: Rule(settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR, 3600),
        # Every sign-in from one client, right passwords too: each costs a hash and a session.
        Scope.SIGNIN_FROM_CLIENT: Rule(settings.VERIFICATION_SIGNINS_PER_IP_PER_HOUR, 3600),
        # Right passwords for one account (keyed by the account and its sessions' hash, so a
        # new password starts a new count): only whoever knows the password spends it.
        Scope.NEW_SESSION_FOR_ACCOUNT: Rule(settings.VERIFICATION_SESSIONS_PER_ACCOUNT_PER_HOUR, 3600),
        # Signed-in password changes of one account, each told to its owner at priority: a
        # flood of them filled an inbox and held every address's codes back.
        Scope.PASSWORD_CHANGE_FOR_ACCOUNT: Rule(
            settings.VERIFICATION_PASSWORD_CHANGES_PER_ACCOUNT_PER_HOUR, 3600
        ),
    }


def longest_window() -> timedelta:
    """A row idle this long counts for nothing (its time is behind now): it can go."""
    return timedelta(seconds=max(rule.seconds for rule in limits().values()))


def _digest(scope, key):
    return salted_hmac("verification.ratelimit", f"{scope}:{key}", algorithm="sha256").hexdigest()


# One statement: insert the row, or move its time on if the hit passes; RETURNING tells
# which. (SQLite's two-argument MAX is PostgreSQL's GREATEST.)
_HIT = """
    INSERT INTO verification_ratelimitbucket AS b (scope, key, tat, counted, updated_at)
    VALUES (%(scope)s, %(key)s, %(now)s + %(interval)s, {true}, %(moment)s)
    ON CONFLICT (scope, key) DO UPDATE SET
        counted = {greatest}(b.tat, %(now)s) + %(interval)s - %(now)s <= %(seconds)s,
        tat = CASE WHEN {greatest}(b.tat, %(now)s) + %(interval)s - %(now)s <= %(seconds)s
              THEN {greatest}(b.tat, %(now)s) + %(interval)s ELSE b.tat END,
        updated_at = %(moment)s
    RETURNING tat, counted
"""


def _sql(template):
    if connection.vendor == "postgresql":
        return template.format(greatest="GREATEST", true="true")
    return template.format(greatest="MAX", true="1")


def _wait(tat: float, rule: Rule, now: float) -> int:
    """Seconds until a hit passes, for a row whose time is `tat`."""
    return max(0, math.ceil(max(tat, now) + rule.interval - rule.seconds - now))


def hit(scope: Scope, key: str) -> int:
    """Count one hit on (scope, key) and return 0, or refuse it and return the seconds to wait."""
    rule = limits()[scope]
    moment = clock.now()
    now = moment.timestamp()
    params = {
        "scope": str(scope),
        "key": _digest(scope, key),
        "now": now,
        "interval": rule.interval,
        "seconds": rule.seconds,
        "moment": moment,
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(_HIT), params)
        tat, counted = cursor.fetchone()
    return 0 if counted else max(1, _wait(tat, rule, now))


def refund(scope: Scope, key: str) -> None:
    """Take back one hit on (scope, key): for an attempt counted before its outcome was known
    (so that parallel attempts cannot all pass a check made before any was counted), whose
    outcome turned out not to count."""
    RateLimitBucket.objects.filter(scope=scope, key=_digest(scope, key)).update(
        tat=models.F("tat") - limits()[scope].interval
    )


def seconds_until_allowed(scope: Scope, key: str) -> int:
    """What `hit` would answer, without counting anything (for countdowns on pages)."""
    tat = RateLimitBucket.objects.filter(scope=scope, key=_digest(scope, key)).values_list("tat", flat=True)
    return _wait(tat[0], limits()[scope], clock.now().timestamp()) if tat else 0


def spend(*hits: tuple[Scope, str]) -> int:
    """Spend each (scope, key) in turn; return the first wait that refuses, or 0.

    Stops at the first refusal, so a refused request does not use up the other allowances.
    """
    for scope, key in hits:
        wait = hit(scope, key)
        if wait:
            return wait
    return 0


def client_network(address: str) -> str:
    """The client as the per-client limits key it: an IPv6 client is its /64
    (VERIFICATION_IPV6_PREFIX), since one household or server is handed a whole /64 and can
    pick any address in it. Which address is the client's is the site's to say (behind which
    proxies): site_config/middleware.py."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{settings.VERIFICATION_IPV6_PREFIX}", strict=False))
    return str(ip)
