"""Benchmark: SQL statements and commits per request (issue 25, "a request in one transaction"),
and per mail the worker delivers.

A reset request, a sign-in-code request and a sign-up, each for a new address from a client
seen before, through Django's test client in this process, on SQLite and on PostgreSQL (when
reachable). Then the worker's job (`deliver_due_mail`, to a real SMTP sink in this process)
for reset codes to accounts: one mail asked and delivered alone (a trickle), and a drain of
DRAINED mails queued together, per mail. Statements exclude transaction control (BEGIN,
COMMIT, savepoints); commits are the transactions that wrote: explicit ones, plus each write
made outside a transaction. Goal for the reset request: one commit and at most 8 statements.
"""

import argparse
import json
import os
import re
import subprocess
import sys

from bench.delivery import postgres_url
from bench.measure import machine, report

DRAINED = 40
CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)", re.IGNORECASE)


def count_in_this_process():
    import django

    from harness.smtp_sink import SmtpSink

    sink = SmtpSink().__enter__()  # stopped with this process
    os.environ["EMAIL_PORT"] = str(sink.port)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django_q.conf import Conf

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # not the point here
    Conf.SYNC = False  # jobs wait in the queue, as in production
    # A database of its own, dropped after: never the one a test run may be using.
    if connection.vendor == "postgresql":
        connection.settings_dict["TEST"]["NAME"] = f"bench_statements_{os.getpid()}"
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0)
    try:
        print(json.dumps(_count_requests(connection, Client, reverse)))
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


def _count_requests(connection, Client, reverse):
    tally = {"statements": 0, "commits": 0}

    def observe(execute, sql, params, many, context):
        if not CONTROL.match(sql):
            tally["statements"] += 1
            if WRITE.match(sql) and not connection.in_atomic_block:
                tally["commits"] += 1  # autocommit: the statement is its own transaction
        return execute(sql, params, many, context)

    real_commit = connection._commit

    def commit():
        tally["commits"] += 1
        return real_commit()

    connection._commit = commit
    client = Client(REMOTE_ADDR="198.51.100.1")
    client.post(reverse("accounts:password_reset"), {"email": "warm-up@example.com"})
    password = "a-long-and-unusual-passphrase"
    requests = {
        "reset request": ("accounts:password_reset", {"email": "new1@example.com"}),
        "sign-in code request": ("accounts:login_code_request", {"email": "new2@example.com"}),
        "sign-up": (
            "accounts:signup",
            {
                "username": "newcomer",
                "email": "new3@example.com",
                "password1": password,
                "password2": password,
            },
        ),
    }
    counted = {}
    requests["sign-up"][1]["password2"] = password
    for name, (url, data) in requests.items():
        tally.update(statements=0, commits=0)
        with connection.execute_wrapper(observe):
            response = client.post(reverse(url), data)
        assert response.status_code == 302, (name, response.status_code)
        counted[name] = dict(tally)
    counted.update(_count_delivery(connection, observe, tally))
    return counted


def _count_delivery(connection, observe, tally):
    from accounts import services
    from accounts.models import User
    from verification.delivery import deliver_due_mail

    def ask(number):
        address = f"holder{number}@example.com"
        User.objects.create_user(username=f"holder{number}", email=address, password="x", is_active=True)
        services.request_password_reset(email=address, client_ip=f"203.0.113.{number}")

    deliver_due_mail()  # what the requests above queued; the sessions open
    counted = {}
    ask(0)
    tally.update(statements=0, commits=0)
    with connection.execute_wrapper(observe):
        deliver_due_mail()
    counted["a mail delivered alone"] = dict(tally)
    for number in range(1, DRAINED + 1):
        ask(number)
    tally.update(statements=0, commits=0)
    with connection.execute_wrapper(observe):
        deliver_due_mail()
    counted[f"each mail of a drain of {DRAINED}"] = {key: round(n / DRAINED, 2) for key, n in tally.items()}
    return counted


def count(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "DJANGO_ENV_FILE": ""}
    env.setdefault("SECRET_KEY", "bench-only-" + "k" * 40)
    env.update(ALLOWED_HOSTS="testserver", SITE_URL="http://testserver", EMAIL_HOST="127.0.0.1")
    env.update(TRUSTED_PROXY_COUNT="0", SECURE_SSL_REDIRECT="false")
    done = subprocess.run(
        [sys.executable, "-m", "bench.statements", "--in-process"], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process:
        count_in_this_process()
        return None
    databases = {"sqlite": "sqlite://:memory:"}
    if postgres_url():
        databases["postgres"] = postgres_url()
    counted = {kind: count(url) for kind, url in databases.items()}
    result = {"machine": machine(), "summary": counted}
    rows = [
        (f"{kind}: {name}: statements / commits", f"{n['statements']} / {n['commits']}")
        for kind, by_request in counted.items()
        for name, n in by_request.items()
    ]
    report("statements", result, rows)
    return result


if __name__ == "__main__":
    main()
