"""Sliding-window rate limits kept in the database, so they hold across every web process.

Each (scope, key) has one row holding the times of its recent hits; the row is locked while
it is read and written, so parallel requests are counted one after another.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from verification import clock
from verification.models import RateLimitBucket


class Scope(StrEnum):
    MAIL_TO_ADDRESS = "mail_to_address"
    MAIL_COOLDOWN = "mail_cooldown"
    REQUEST_FROM_CLIENT = "request_from_ip"
    CHECK_FROM_CLIENT = "check_from_ip"
    FAILED_SIGNIN_FROM_CLIENT = "failed_signin_from_ip"
    SIGNIN_FROM_CLIENT = "signin_from_ip"
    NEW_SESSION_FOR_ACCOUNT = "new_session_for_account"


@dataclass(frozen=True)
class Rule:
    count: int
    seconds: int


def limits() -> dict[Scope, list[Rule]]:
    """Scope -> rules. Read at call time so settings can change in tests."""
    return {
        # Mail to one address: a few an hour, of every kind together...
        Scope.MAIL_TO_ADDRESS: [Rule(settings.VERIFICATION_MAILS_PER_HOUR, 3600)],
        # ...and one a minute of each kind (keyed by purpose and address), so that a code
        # asked for just after a sign-up is not held back by the sign-up's mail.
        Scope.MAIL_COOLDOWN: [Rule(1, settings.VERIFICATION_MAIL_COOLDOWN)],
        Scope.REQUEST_FROM_CLIENT: [Rule(settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR, 3600)],
        Scope.CHECK_FROM_CLIENT: [Rule(settings.VERIFICATION_CHECKS_PER_IP_PER_HOUR, 3600)],
        Scope.FAILED_SIGNIN_FROM_CLIENT: [Rule(settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR, 3600)],
        # Every sign-in from one client, right passwords too: each costs a hash and a session.
        Scope.SIGNIN_FROM_CLIENT: [Rule(settings.VERIFICATION_SIGNINS_PER_IP_PER_HOUR, 3600)],
        # Right passwords for one account (keyed by the account and its sessions' hash, so a
        # new password starts a new count): only whoever knows the password spends it.
        Scope.NEW_SESSION_FOR_ACCOUNT: [Rule(settings.VERIFICATION_SESSIONS_PER_ACCOUNT_PER_HOUR, 3600)],
    }


def longest_window() -> timedelta:
    """Hits older than this count for nothing; buckets idle this long can go."""
    return timedelta(seconds=max(rule.seconds for rules in limits().values() for rule in rules))


def _digest(scope, key):
    return salted_hmac("verification.ratelimit", f"{scope}:{key}", algorithm="sha256").hexdigest()


def _wait(hits, rule, now):
    recent = sorted(t for t in hits if t > now - rule.seconds)
    if len(recent) < rule.count:
        return 0.0
    return recent[-rule.count] + rule.seconds - now


def hit(scope: Scope, key: str) -> int:
    """Count one hit on (scope, key) and return 0, or refuse it and return the seconds to wait."""
    return _count(scope, key, always=False)


@transaction.atomic
def _count(scope: Scope, key: str, *, always: bool) -> int:
    rules = limits()[scope]
    bucket, _ = RateLimitBucket.objects.select_for_update().get_or_create(
        scope=scope, key=_digest(scope, key)
    )
    now = clock.now().timestamp()
    horizon = max(rule.seconds for rule in rules)
    hits = [t for t in bucket.hits if t > now - horizon]
    wait = 0.0 if always else max(_wait(hits, rule, now) for rule in rules)
    if not wait:
        hits.append(now)
    bucket.hits = hits
    bucket.save(update_fields=["hits", "updated_at"])
    return math.ceil(wait)


@transaction.atomic
def refund(scope: Scope, key: str) -> None:
    """Take back one hit on (scope, key): for an attempt counted before its outcome was known
    (so that parallel attempts cannot all pass a check made before any was counted), whose
    outcome turned out not to count. The latest hit goes: the count is what limits."""
    bucket = RateLimitBucket.objects.select_for_update().filter(scope=scope, key=_digest(scope, key)).first()
    if bucket is not None and bucket.hits:
        bucket.hits.remove(max(bucket.hits))
        bucket.save(update_fields=["hits", "updated_at"])


def recent_hits(scope: Scope, key: str) -> list[float]:
    """The POSIX times of the hits counted on (scope, key) within its longest window."""
    bucket = RateLimitBucket.objects.filter(scope=scope, key=_digest(scope, key)).first()
    return bucket.hits if bucket else []


def seconds_until_allowed(scope: Scope, key: str) -> int:
    """What `hit` would answer, without counting anything (for countdowns on pages)."""
    now = clock.now().timestamp()
    hits = recent_hits(scope, key)
    return math.ceil(max(_wait(hits, rule, now) for rule in limits()[scope]))


def spend(*hits: tuple[Scope, str]) -> int:
    """Spend each (scope, key) in turn; return the first wait that refuses, or 0.

    Stops at the first refusal, so a refused request does not use up the other allowances.
    """
    for scope, key in hits:
        wait = hit(scope, key)
        if wait:
            return wait
    return 0


def client_ip(request: HttpRequest) -> str:
    """The client as the per-client limits see it: the socket's address, or the one the last
    trusted proxy saw; an IPv6 client is its /64 (VERIFICATION_IPV6_PREFIX), since one
    household or server is handed a whole /64 and can pick any address in it."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    return client_network(address)


def client_network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{settings.VERIFICATION_IPV6_PREFIX}", strict=False))
    return str(ip)
