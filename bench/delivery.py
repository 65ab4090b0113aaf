"""Benchmarks 3 and 4 (cluster), on SQLite and on PostgreSQL (when reachable).

Drain: `--mails` queued mails drained by `manage.py qcluster` (2 workers) into a real SMTP
sink answering at once: mails/s, SMTP connections opened, "database is locked" lines, cluster
memory. Baseline (the practical ceiling): one process builds the same messages from the same
templates and sends them with Django's SMTP backend over one open connection.

Burst: `--requests` password resets posted by 8 clients through gunicorn (2 workers) while
one `qcluster` with default settings delivers to a sink that takes `--delay` seconds to accept
each message: mails/s from the first POST to the last arrival, submit-to-inbox p50/p95, and
the same for an ideal first-come server with as many sessions on the same arrivals (the share
of its pace that ours reaches).
`--connections` adds the same case with that many SMTP sessions per worker;
`--provider-connections` adds it against a provider that refuses connections past that many
("421 try later"), counting the refusals and the mails charged an attempt for one.
"""

import argparse
import contextlib
import heapq
import os
import tempfile
from pathlib import Path

from bench.measure import fmt, machine, medians, percentile, report, summary, tree_memory_mb
from bench.request_path import NO_LIMITS, OURS, inbox_latencies, load, post_reset
from harness.processes import Stack, scratch_database, wait_for
from harness.smtp_sink import SmtpSink
from verification import conf as engine_conf

# The defaults the site runs with: sessions per worker, and workers per cluster.
SESSIONS_PER_WORKER = engine_conf.DEFAULTS["VERIFICATION_SMTP_CONNECTIONS"]
WORKERS = engine_conf.Q_CLUSTER["workers"]

CEILING = """
import time
from django.core.mail import get_connection
from accounts.models import User
from accounts.mail import compose
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


def ideal_inbox_ms(timings, *, sessions, delay):
    """What an ideal first-come server with `sessions` SMTP sessions, each taking `delay` s a
    mail and nothing else, gives on the same arrivals (each POST's answer, when its mail was
    recorded): (latency in ms from each POST's start, seconds from the first POST to the last
    mail)."""
    free = [0.0] * sessions
    latencies, last = [], 0.0
    for started, seconds in sorted(timings, key=lambda timing: sum(timing)):
        begin = max(started + seconds, heapq.heappop(free))
        heapq.heappush(free, begin + delay)
        latencies.append((begin + delay - started) * 1000)
        last = max(last, begin + delay)
    return latencies, last - min(started for started, _ in timings)


def burst(kind, requests, delay, connections=None, provider_limit=None):
    overrides = {"VERIFICATION_SMTP_CONNECTIONS": str(connections)} if connections else {}
    sink = SmtpSink(delay=delay, max_connections=provider_limit)
    with tempfile.TemporaryDirectory() as tmp, sink, database(kind, tmp) as url:
        stack = Stack(database_url=url, smtp_port=sink.port, tmp_path=Path(tmp), **NO_LIMITS, **overrides)
        emails = stack.make_users(requests + 1)
        with stack.qcluster() as cluster, stack.web(workers=2):
            post_reset(stack.base_url, OURS, emails[-1])  # warm up the web and the cluster
            sink.wait_for(1, timeout=30)
            sink.clear()
            timings, _ = load(stack.base_url, OURS, emails[:requests], concurrency=8)
            latencies = inbox_latencies(sink, emails[:requests], timings, timeout=600)
            first_post = min(started for started, _ in timings)
            held = tree_memory_mb(cluster.pid)
            sessions = (connections or SESSIONS_PER_WORKER) * WORKERS
            if provider_limit:
                sessions = min(sessions, provider_limit)
            ideal, ideal_seconds = ideal_inbox_ms(timings, sessions=sessions, delay=delay)
            result = {
                "mails_per_s": requests / (max(sink.arrived_at) - first_post),
                # Ours against the ideal server on the same arrivals: 1.0 is as fast as the open
                # sessions and the requests' own pace allow.
                "share_of_ideal": ideal_seconds / (max(sink.arrived_at) - first_post),
                "inbox_p50_ms": percentile(latencies, 50),
                "inbox_p95_ms": percentile(latencies, 95),
                "ideal_p50_ms": percentile(ideal, 50),
                "ideal_p95_ms": percentile(ideal, 95),
                "cluster_rss_mb": held["rss"],
                "cluster_pss_mb": held["pss"],
            }
        result["database_is_locked"] = stack.log().count("database is locked")
        result["sent_twice"] = len(sink.raw) - len({message["Message-ID"] for message in sink.messages})
        result["connections_refused"] = sink.connections_refused
        result["attempts_failed"] = stack.log().count("failed (retry")
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--connections", type=int, help="also run the burst with this many sessions")
    parser.add_argument(
        "--provider-connections", type=int, help="also run the burst against a provider allowing this many"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    kinds = ["sqlite"] + (["postgres"] if postgres_url() else [])
    bursts = {"burst": {}}
    if args.connections:
        bursts[f"burst_{args.connections}"] = {"connections": args.connections}
    if args.provider_connections:
        bursts[f"burst_provider_{args.provider_connections}"] = {"provider_limit": args.provider_connections}
    runs = {}
    for _ in range(args.runs):
        for kind in kinds:
            runs.setdefault(kind, []).append(drain(kind, args.mails))
            for name, options in bursts.items():
                runs.setdefault(f"{kind} {name}", []).append(
                    burst(kind, args.requests, args.delay, **options)
                )
    result = {
        "machine": machine(),
        "mails": args.mails,
        "requests": args.requests,
        "delay": args.delay,
        "runs": runs,
        "summary": {case: summarize(r) for case, r in runs.items()},
    }
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
        for name, options in bursts.items():
            s = result["summary"][f"{kind} {name}"]
            label = f"{kind}: burst, {args.requests} resets, SMTP {args.delay * 1000:.0f} ms"
            label += f", {options.get('connections', 'default')} sessions"
            if "provider_limit" in options:
                label += f", provider allows {options['provider_limit']} connections"
            rows += [
                (f"{label}: mails/s", fmt(s["mails_per_s"])),
                (f"{label}: inbox p50 / p95 ms", medians(s, "inbox_p50_ms", "inbox_p95_ms")),
                (f"{label}: ideal server p50 / p95 ms", medians(s, "ideal_p50_ms", "ideal_p95_ms")),
                (f"{label}: share of the ideal server's pace", fmt(s["share_of_ideal"])),
                (f"{label}: cluster RSS / PSS MB", medians(s, "cluster_rss_mb", "cluster_pss_mb")),
                (f"{label}: locked / twice", medians(s, "database_is_locked", "sent_twice")),
                (
                    f"{label}: connections refused / attempts failed",
                    medians(s, "connections_refused", "attempts_failed"),
                ),
            ]
    if "postgres" not in kinds:
        rows.append(("postgres", "skipped: PostgreSQL not reachable (TEST_POSTGRES_URL)"))
    report("delivery", result, rows)
    return result


def summarize(runs):
    return {key: summary(runs, key) for key in runs[0]}


if __name__ == "__main__":
    main()
