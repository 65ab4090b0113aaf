"""Benchmark: does a request cost the same at a million accounts as at two thousand?

In a scratch PostgreSQL database (TEST_POSTGRES_URL's server; created, migrated, and dropped
at the end, also on failure) it loads, with `generate_series`, `--reference` accounts, then
grows them to `--accounts`; each account comes with 3 sent mails (one of them past the
retention) and 1 used code. At both sizes it times, in this process through Django's test
client, `--requests` of each: reset request POST, sign-in code request POST, sign-up POST with
Argon2 and with a cheap hasher, and one outbox claim (`delivery._claim_batch` of 8 mails):
median and p95, and the growth of the median (goal: at most 1.2). The rate limits are raised
(bench.request_path.NO_LIMITS) and every request comes from its own address and client IP.
Then it times the outbox sweep of the mails past retention (one per account): total, and the
longest single statement; and it prints each table's bytes per row, for README's growth figures.
"""

import argparse
import os
import random
import tempfile
import time
from contextlib import contextmanager

from bench.delivery import database, postgres_url
from bench.measure import machine, percentile, report
from bench.request_path import NO_LIMITS
from harness.processes import site_environment

SIGN_UPS_PER_DAY = 1000
TABLES = [
    "accounts_user",
    "verification_outboundemail",
    "verification_onetimesecret",
    "verification_ratelimitbucket",
]
# Accounts `scale<n>` for n in [first, last], each with 3 sent mails (the first made before
# the retention window) and 1 used reset code.
LOAD = [
    """INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, email_verified_at, session_epoch)
    SELECT '!', false, 'scale' || n, '', '', 'scale' || n || '@example.com', false, true,
        now() - interval '90 days', now() - interval '90 days', 0
    FROM generate_series(%(first)s, %(last)s) AS n""",
    """INSERT INTO verification_outboundemail (kind, user_id, status, to_address, language,
        priority, attempts, last_error, message_id, created_at, sent_at)
    SELECT 'password_changed', u.id, 'sent', '', 'en', 1, 1, '', '<' || u.id || '.' || k || '@scale>',
        t, t
    FROM accounts_user u, generate_series(0, 2) AS k,
        LATERAL (SELECT now() - CASE k WHEN 0 THEN interval '40 days' ELSE k * interval '3 days' END
                 - (u.id %% 86400) * interval '1 second') AS at(t)
    WHERE u.id > %(after)s AND u.username LIKE 'scale%%'""",
    """INSERT INTO verification_onetimesecret (id, user_id, purpose, digest, created_at, expires_at,
        attempts, max_attempts, used_at)
    SELECT gen_random_uuid(), u.id, 'password_reset', md5(u.id::text), now() - interval '2 days',
        now() - interval '2 days' + interval '10 minutes', 1, 5, now() - interval '2 days'
    FROM accounts_user u WHERE u.id > %(after)s AND u.username LIKE 'scale%%'""",
]
WAITING_MAIL = """INSERT INTO verification_outboundemail (kind, user_id, status, to_address, language,
    priority, attempts, last_error, message_id, created_at)
SELECT 'password_changed', (SELECT min(id) FROM accounts_user), 'queued', '', 'en', 1, 0, '',
    '<w' || n || '@scale>', now()
FROM generate_series(1, %(count)s) AS n"""


def load(cursor, first, last):
    cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_user")
    after = cursor.fetchone()[0]
    for statement in LOAD:
        cursor.execute(statement, {"first": first, "last": last, "after": after})
    for table in TABLES[:3]:
        cursor.execute(f"VACUUM (ANALYZE) {table}")


def timed(call, count):
    """Run `call(i)` `count` times after 3 untimed runs; return p50 and p95 in ms."""
    for i in range(3):
        call(-1 - i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2)}


def requests(size, accounts, count):
    """The timed cases at one database size: name -> p50/p95."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import reverse

    from verification.delivery import _claim_batch

    def address():
        return f"scale{random.randint(1, accounts)}@example.com"

    def client_ip():
        return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

    def post(name, data):
        response = Client().post(reverse(name), data, REMOTE_ADDR=client_ip())
        assert response.status_code == 302, (name, response.status_code)

    def sign_up(i):
        name = f"new{size}x{i}x{random.randint(0, 10**9)}"
        password = "a-long-and-unusual-passphrase"
        post(
            "accounts:signup",
            {"username": name, "email": f"{name}@example.com", "password1": password, "password2": password},
        )

    with connection.cursor() as cursor:
        cursor.execute(WAITING_MAIL, {"count": 8 * (count + 3)})
    cheap = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    results = {
        "reset request POST": timed(lambda i: post("accounts:password_reset", {"email": address()}), count),
        "sign-in code request POST": timed(
            lambda i: post("accounts:login_code_request", {"email": address()}), count
        ),
        "sign-up POST (Argon2)": timed(sign_up, count),
    }
    with override_settings(PASSWORD_HASHERS=cheap):
        results["sign-up POST (cheap hasher)"] = timed(sign_up, count)
    results["outbox claim (_claim_batch of 8)"] = timed(lambda i: _claim_batch(8), count)
    return results


@contextmanager
def statement_times():
    """Record how long each SQL statement of this connection takes: a list of (ms, sql)."""
    from django.db import connection

    seen = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(wrapper):
        yield seen


def sweep():
    from verification.outbox import sweep_outbox

    with statement_times() as seen:
        started = time.perf_counter()
        counts = sweep_outbox()
        total = time.perf_counter() - started
    longest = max(seen)
    deletes = [ms for ms, sql in seen if sql.startswith("DELETE")]
    return {
        "rows_deleted": counts["emails"],
        "total_s": round(total, 1),
        "statements": len(seen),
        "longest_statement_ms": round(longest[0], 1),
        "longest_statement": longest[1][:70],
        "longest_delete_ms": round(max(deletes), 1) if deletes else None,
    }


def table_sizes(cursor):
    sizes = {}
    for table in TABLES:
        cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
        rows, size = cursor.fetchone()
        sizes[table] = {"rows": rows, "bytes": size, "bytes_per_row": round(size / rows) if rows else None}
    return sizes


def run(url, args):
    os.environ.update(
        site_environment(database_url=url, smtp_port=25, web_port=8000, **NO_LIMITS),
        ALLOWED_HOSTS="testserver",
    )
    import django
    from django.core.management import call_command
    from django.db import connection, connections

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        result = {"accounts": args.accounts, "reference": args.reference, "requests": args.requests}
        loaded = time.perf_counter()
        with connection.cursor() as cursor:
            load(cursor, 1, args.reference)
        result["load_reference_s"] = round(time.perf_counter() - loaded, 1)
        result["small"] = requests(args.reference, args.reference, args.requests)
        loaded = time.perf_counter()
        with connection.cursor() as cursor:
            load(cursor, args.reference + 1, args.accounts)
        result["load_s"] = round(time.perf_counter() - loaded, 1)
        result["large"] = requests(args.accounts, args.accounts, args.requests)
        with connection.cursor() as cursor:
            result["tables"] = table_sizes(cursor)
        result["sweep"] = sweep()
        return result
    finally:
        connections.close_all()


def rows_for(result):
    small, large = result["small"], result["large"]
    rows = [
        ("database", f"{result['reference']} accounts, then {result['accounts']}, 3 mails and 1 code each")
    ]
    rows.append(("load time s (reference / the rest)", f"{result['load_reference_s']} / {result['load_s']}"))
    for name in small:
        a, b = small[name], large[name]
        growth = b["p50_ms"] / a["p50_ms"]
        rows.append(
            (
                f"{name}: p50 / p95 ms, small -> large",
                f"{a['p50_ms']} / {a['p95_ms']} -> {b['p50_ms']} / {b['p95_ms']}; "
                f"growth {growth:.2f}x (goal <= 1.2)",
            )
        )
    s = result["sweep"]
    rows += [
        (
            f"outbox sweep of {s['rows_deleted']} expired rows",
            f"{s['total_s']} s in {s['statements']} statements",
        ),
        ("  longest statement ms", f"{s['longest_statement_ms']} ({s['longest_statement']}...)"),
        ("  longest DELETE ms", s["longest_delete_ms"]),
    ]
    for table, size in result["tables"].items():
        per_row = size["bytes_per_row"]
        rows.append(
            (f"{table}: rows / MB / bytes per row", f"{size['rows']} / {size['bytes'] / 1e6:.1f} / {per_row}")
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests of each kind, at each size")
    args = parser.parse_args(argv)
    random.seed(24)

    if not postgres_url():
        report(
            "scale",
            {"summary": {"skipped": "PostgreSQL not reachable (TEST_POSTGRES_URL)"}},
            [("skipped", "no PostgreSQL")],
        )
        return None
    result = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp, database("postgres", tmp) as url:
        result.update(run(url, args))
    result["summary"] = {
        name: round(result["large"][name]["p50_ms"] / result["small"][name]["p50_ms"], 2)
        for name in result["small"]
    }
    report("scale", result, rows_for(result))
    return result


if __name__ == "__main__":
    main()
