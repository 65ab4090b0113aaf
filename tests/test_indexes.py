"""Every look-up a request makes uses an index (issue 24): with tens of thousands of rows in
the tables, the planner scans none of them, for the queries the services really run."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import email_change, services
from accounts.models import EmailChange, User
from accounts.vocabulary import Purpose
from tests.helpers import guess, issue_code
from verification import ratelimit
from verification.delivery import _claim_batch
from verification.tokens import InvalidCode

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL's planner and generate_series: bin/test runs it in its PostgreSQL pass",
)

ROWS = 50_000
TABLES = [
    "accounts_user",
    "accounts_usernameclaim",
    "accounts_emailchange",
    "verification_onetimesecret",
    "verification_outboundemail",
    "verification_ratelimitbucket",
    "verification_failedguesses",
]
# Rows as a site that has run for a while holds them: proven accounts, spent codes, sent mail.
SEED = [
    f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, email_verified_at, session_epoch)
        SELECT '!', false, 'user' || n, '', '', 'user' || n || '@example.com', false, true,
        now(), now(), 0 FROM generate_series(1, {ROWS}) n""",
    """INSERT INTO verification_onetimesecret (id, user_id, address_key, purpose, digest, created_at,
        expires_at, attempts, other_attempts, max_attempts, used_at)
        SELECT gen_random_uuid(), id, md5(email), 'password_reset', md5(id::text),
        now() - interval '1 day', now() - interval '23 hours', 1, 0, 5, now() - interval '1 day'
        FROM accounts_user""",
    """INSERT INTO verification_failedguesses (address_key, count, last_at)
        SELECT md5(email), 3, now() FROM accounts_user""",
    """INSERT INTO verification_outboundemail (kind, user_id, status, to_address, language, priority,
        attempts, last_error, message_id, created_at, sent_at)
        SELECT 'password_reset', id, 'sent', '', 'en', 0, 1, '', '<' || id || '@testserver>',
        now() - interval '1 day', now() - interval '1 day' FROM accounts_user""",
    """INSERT INTO accounts_emailchange (user_id, old_email, new_email, requested_at, completed_at,
        public_id)
        SELECT id, 'old' || id || '@example.com', email, now() - interval '30 days',
        now() - interval '30 days', gen_random_uuid() FROM accounts_user""",
    f"""INSERT INTO accounts_usernameclaim (username, claimed_at)
        SELECT 'claim' || n, now() FROM generate_series(1, {ROWS}) n""",
    f"""INSERT INTO verification_ratelimitbucket (scope, key, tat, counted, updated_at)
        SELECT 'mail_to_address', md5(n::text), 0, true, now() FROM generate_series(1, {ROWS}) n""",
    f"ANALYZE {', '.join(TABLES)}",
]
SEQ_SCAN = re.compile(rf"Seq Scan on ({'|'.join(TABLES)})\b")


@pytest.fixture
def grown_site(db):
    with connection.cursor() as cursor:
        for statement in SEED:
            cursor.execute(statement)
    return User.objects.get(username="user123")


def scans(call):
    """The tables that the queries `call` runs would read from end to end, and the plans."""
    with CaptureQueriesContext(connection) as captured:
        call()
    found = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", query["sql"]):
                continue  # savepoints
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            found += [(table, query["sql"], plan) for table in SEQ_SCAN.findall(plan)]
    return found


def wrong_reset_code(member):
    with pytest.raises(InvalidCode):
        services.reset_password_with_code(
            email=member.email, code="000000", password="a-brand-new-passphrase", client_ip="203.0.113.12"
        )


def test_the_requests_lookups_scan_no_big_table(grown_site):
    member = grown_site
    code = issue_code(user=member, purpose=Purpose.LOGIN)
    EmailChange.objects.create(
        user=member, old_email=member.email, new_email="new@example.com", requested_at=member.date_joined
    )
    hot = {
        "account by address (reset request)": lambda: services.request_password_reset(
            email="user4242@example.com", client_ip="203.0.113.9"
        ),
        "account by username fold, and claims": lambda: services.username_is_taken("CLAIM4242"),
        "sign-up (address, username, claim)": lambda: services.register_user(
            username="newcomer", email="user777@example.com", password="x", client_ip="203.0.113.10"
        ),
        "code by address and purpose": lambda: guess(user=member, purpose=Purpose.LOGIN, code=code),
        "a wrong code, counted across the address's codes": lambda: wrong_reset_code(member),
        "outbox claim": lambda: _claim_batch(5),
        "rate-limit bucket": lambda: ratelimit.hit(ratelimit.Scope.MAIL_TO_ADDRESS, "user9@example.com"),
        "pending address change": lambda: email_change.resend_email_change_code(
            user=member, client_ip="203.0.113.11"
        ),
    }

    found = {name: scans(call) for name, call in hot.items()}

    assert {name: [table for table, _, _ in f] for name, f in found.items() if f} == {}, found
