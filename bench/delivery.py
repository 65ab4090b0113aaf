"""Benchmarks 3 and 4 (cluster): `--mails` queued mails drained by `manage.py qcluster`
(2 workers) into a real SMTP sink answering at once, on SQLite and on PostgreSQL (when
reachable): mails/s, SMTP connections opened, "database is locked" lines, cluster memory.

Baseline (the practical ceiling): one process builds the same messages from the same
templates and sends them with Django's SMTP backend over one open connection.
"""

import argparse
import contextlib
import os
import tempfile
from pathlib import Path

from bench.measure import fmt, machine, medians, report, summary, tree_memory_mb
from tests.site_processes import Stack, scratch_database, wait_for
from tests.smtp_sink import SmtpSink

CEILING = """
import time
from django.core.mail import get_connection
from accounts.models import User
from verification.messages import compose
from verification.models import OutboundEmail
emails = OutboundEmail.objects.bulk_create(
    OutboundEmail(user=u, kind="password_changed") for u in User.objects.all()[:{count}]
)
emails = list(OutboundEmail.objects.select_related("user").filter(pk__in=[e.pk for e in emails]))
connection = get_connection()
connection.open()
started = time.monotonic()
for email in emails:
    connection.send_messages([compose(email)])
print(len(emails) / (time.monotonic() - started))
"""


def postgres_url():
    url = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception:
        return None
    return url


@contextlib.contextmanager
def database(kind, tmp):
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = postgres_url()
    try:
        with scratch_database(Path(tmp)) as url:
            yield url
    finally:
        os.environ.pop("DATABASE_URL") if previous is None else os.environ.update(DATABASE_URL=previous)


def drain(kind, mails):
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as sink, database(kind, tmp) as url:
        stack = Stack(database_url=url, smtp_port=sink.port, tmp_path=Path(tmp), Q_WORKERS="2")
        with stack.qcluster() as cluster:
            stack.queue_mails(mails)  # one commit; the running cluster starts on it at once
            wait_for(lambda: len(sink.raw) >= mails, timeout=600, every=0.05)
            first, last = sink.arrived_at[0], sink.arrived_at[mails - 1]
            held = tree_memory_mb(cluster.pid)
            result = {
                "mails_per_s": (mails - 1) / (last - first),
                "smtp_connections": sink.connections,
                "cluster_rss_mb": held["rss"],
                "cluster_pss_mb": held["pss"],
            }
        result["database_is_locked"] = stack.log().count("database is locked")
        result["sent_twice"] = len(sink.raw) - len({message["Message-ID"] for message in sink.messages})
        sink.clear()
        result["ceiling_mails_per_s"] = float(stack.python(CEILING.format(count=mails)).split()[-1])
        result["share_of_ceiling"] = result["mails_per_s"] / result["ceiling_mails_per_s"]
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    kinds = ["sqlite"] + (["postgres"] if postgres_url() else [])
    runs = {kind: [drain(kind, args.mails) for _ in range(args.runs)] for kind in kinds}
    keys = ["mails_per_s", "ceiling_mails_per_s", "share_of_ceiling", "smtp_connections", "cluster_rss_mb", "cluster_pss_mb",
            "database_is_locked", "sent_twice"]
    result = {"machine": machine(), "mails": args.mails, "runs": runs,
              "summary": {kind: {k: summary(r, k) for k in keys} for kind, r in runs.items()}}
    rows = []
    for kind in kinds:
        s = result["summary"][kind]
        rows += [
            (f"{kind}: mails/s (2 workers)", fmt(s["mails_per_s"])),
            (f"{kind}: ceiling mails/s (1 process, 1 connection)", fmt(s["ceiling_mails_per_s"])),
            (f"{kind}: share of ceiling", fmt(s["share_of_ceiling"])),
            (f"{kind}: SMTP connections opened", fmt(s["smtp_connections"])),
            (f"{kind}: 'database is locked' lines", fmt(s["database_is_locked"])),
            (f"{kind}: mails that arrived twice", fmt(s["sent_twice"])),
            (f"{kind}: cluster RSS / PSS MB (6 processes)", medians(s, "cluster_rss_mb", "cluster_pss_mb")),
        ]
    if "postgres" not in kinds:
        rows.append(("postgres", "skipped: PostgreSQL not reachable (TEST_POSTGRES_URL)"))
    report("delivery", result, rows)
    return result


if __name__ == "__main__":
    main()
