"""Benchmarks 1, 2 and 4 (web): password-reset requests against gunicorn (2 sync workers,
SQLite) with a real SMTP sink that answers in 0 or 500 ms; our outbox view against a baseline
view that sends the mail inside the request, as tutorials do.

For each case: req/s and POST p50/p95/p99 for `--requests` requests at concurrency 8 (each
request first GETs the form for its CSRF token; only the POST is timed), and, with the worker
running, the CPU each request cost the web processes, the cluster (until all its mail is
delivered) and this process (the clients and the SMTP sink); then, for our view at
0 ms, submit-to-inbox latency under that load and at idle, and the resident memory of the web
processes and the cluster afterwards. One more case runs our view at 0 ms with the mail worker
started only after the load (it then delivers every mail, which is checked): the request
path's own cost, without the delivery's CPU on the same 2 cores.
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.measure import (
    fmt,
    machine,
    medians,
    own_cpu_seconds,
    percentile,
    report,
    summary,
    tree_cpu_seconds,
    tree_memory_mb,
)
from harness.http_browser import HttpBrowser
from harness.processes import Stack, wait_for
from harness.smtp_sink import SmtpSink

OURS, BASELINE = "/accounts/password-reset/", "/baseline/password-reset/"
NO_LIMITS = {
    "VERIFICATION_REQUESTS_PER_IP_PER_HOUR": "1000000",
    "VERIFICATION_MAIL_COOLDOWN": "0",
    "VERIFICATION_MAILS_PER_HOUR": "1000000",
}


def post_reset(base_url, path, email):
    """GET the form, then time the POST; return (start, seconds) of the POST."""
    browser = HttpBrowser(base_url)
    token = browser.open(path).csrf_token()
    started = time.monotonic()
    page = browser.open(path, {"email": email, "csrfmiddlewaretoken": token})
    assert page.status == 200 and "/password-reset/code/" in page.url, page.status
    return started, time.monotonic() - started


def load(base_url, path, emails, concurrency):
    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = list(pool.map(lambda email: post_reset(base_url, path, email), emails))
    elapsed = time.monotonic() - began
    posts = [seconds * 1000 for _, seconds in timings]
    return timings, {
        "req_per_s": len(emails) / elapsed,
        "post_p50_ms": percentile(posts, 50),
        "post_p95_ms": percentile(posts, 95),
        "post_p99_ms": percentile(posts, 99),
    }


def inbox_latencies(sink, emails, timings, timeout):
    """Milliseconds from each POST's start to its mail's arrival at the sink."""
    wait_for(lambda: len(sink.raw) >= len(emails), timeout=timeout, every=0.05)
    arrived = dict(zip(sink.recipients, sink.arrived_at, strict=True))
    return [(arrived[email] - started) * 1000 for email, (started, _) in zip(emails, timings, strict=True)]


def cpu_used(web, cluster, since=None):
    """CPU seconds used by the web processes, the cluster and this process (the clients and
    the SMTP sink), since the `since` of an earlier call."""
    now = {
        "web": tree_cpu_seconds(web.pid),
        "cluster": tree_cpu_seconds(cluster.pid),
        "bench": own_cpu_seconds(),
    }
    return {name: seconds - (since or {}).get(name, 0.0) for name, seconds in now.items()}


def run_case(*, delay, path, requests, concurrency, measure_latency, worker_during_load=True):
    with tempfile.TemporaryDirectory() as tmp, SmtpSink(delay=delay) as sink:
        settings = "bench.baseline_settings" if path == BASELINE else "site_config.settings"
        stack = Stack(
            database_url=f"sqlite:///{tmp}/bench.sqlite3",
            smtp_port=sink.port,
            tmp_path=Path(tmp),
            DJANGO_SETTINGS_MODULE=settings,
            **NO_LIMITS,
        )
        emails = stack.make_users(requests + 20)
        base_url = stack.base_url
        if not worker_during_load:
            with stack.web(workers=2):
                post_reset(base_url, path, emails[-1])  # warm up
                result = {"load_1m_before": round(os.getloadavg()[0], 2)}
                result.update(load(base_url, path, emails[:requests], concurrency)[1])
            with stack.qcluster():
                sink.wait_for(requests + 1, timeout=180)  # every mail still goes, afterwards
            return result
        with stack.qcluster() as cluster, stack.web(workers=2) as web:
            post_reset(base_url, path, emails[-1])  # warm up both processes
            sink.wait_for(1, timeout=30)
            sink.clear()
            result = {"load_1m_before": round(os.getloadavg()[0], 2)}
            used = cpu_used(web, cluster)
            timings, numbers = load(base_url, path, emails[:requests], concurrency)
            result.update(numbers)
            if path == OURS:  # every mail delivered, so that the cluster's CPU is all counted
                sink.wait_for(requests, timeout=120)
            for name, seconds in cpu_used(web, cluster, since=used).items():
                result[f"cpu_ms_per_request_{name}"] = seconds * 1000 / requests
            if measure_latency:
                loaded = inbox_latencies(sink, emails[:requests], timings, timeout=120)
                result["inbox_p50_ms_loaded"] = percentile(loaded, 50)
                result["inbox_p95_ms_loaded"] = percentile(loaded, 95)
                sink.clear()
                idle_emails = emails[requests : requests + 15]
                idle_timings = []
                for email in idle_emails:
                    idle_timings.append(post_reset(base_url, path, email))
                    sink.wait_for(len(idle_timings), timeout=30)
                    time.sleep(0.2)
                idle = inbox_latencies(sink, idle_emails, idle_timings, timeout=30)
                result["inbox_p50_ms_idle"] = percentile(idle, 50)
                result["inbox_p95_ms_idle"] = percentile(idle, 95)
            for name, process in (("web", web), ("cluster", cluster)):
                held = tree_memory_mb(process.pid)
                result[f"{name}_rss_mb"], result[f"{name}_pss_mb"] = held["rss"], held["pss"]
            result["database_is_locked"] = stack.log().count("database is locked")
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--slow-requests", type=int, default=48, help="for the baseline at 500 ms")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)

    cases = {
        "ours_0ms": dict(delay=0.0, path=OURS, requests=args.requests, measure_latency=True),
        "ours_0ms_worker_after": dict(
            delay=0.0, path=OURS, requests=args.requests, measure_latency=False, worker_during_load=False
        ),
        "ours_500ms": dict(delay=0.5, path=OURS, requests=args.requests, measure_latency=False),
        "baseline_0ms": dict(delay=0.0, path=BASELINE, requests=args.requests, measure_latency=False),
        "baseline_500ms": dict(delay=0.5, path=BASELINE, requests=args.slow_requests, measure_latency=False),
    }
    runs = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, case in cases.items():
            runs[name].append(run_case(concurrency=args.concurrency, **case))

    result = {"machine": machine(), "runs": runs}
    keys = [
        "req_per_s",
        "post_p50_ms",
        "post_p95_ms",
        "post_p99_ms",
        "inbox_p50_ms_loaded",
        "inbox_p95_ms_loaded",
        "inbox_p50_ms_idle",
        "inbox_p95_ms_idle",
        "web_rss_mb",
        "web_pss_mb",
        "cluster_rss_mb",
        "cluster_pss_mb",
        "cpu_ms_per_request_web",
        "cpu_ms_per_request_cluster",
        "cpu_ms_per_request_bench",
    ]
    result["summary"] = {name: {k: summary(r, k) for k in keys if summary(r, k)} for name, r in runs.items()}
    s = result["summary"]
    ours_500, base_500, ours_0, ours_0_alone, base_0 = (
        s[n]["req_per_s"]["median"]
        for n in ("ours_500ms", "baseline_500ms", "ours_0ms", "ours_0ms_worker_after", "baseline_0ms")
    )
    result["goals"] = {
        "ours_500ms_vs_baseline_500ms": round(ours_500 / base_500, 1),
        "ours_500ms_vs_ours_0ms": round(ours_500 / ours_0, 2),
        "ours_0ms_vs_baseline_0ms": round(ours_0 / base_0, 2),
        "ours_0ms_worker_after_vs_baseline_0ms": round(ours_0_alone / base_0, 2),
    }
    rows = []
    for name in cases:
        rows.append((f"{name} req/s", fmt(s[name]["req_per_s"])))
        rows.append(
            (f"{name} POST p50/p95/p99 ms", medians(s[name], "post_p50_ms", "post_p95_ms", "post_p99_ms"))
        )
    ours = s["ours_0ms"]
    cpu = ("cpu_ms_per_request_web", "cpu_ms_per_request_cluster", "cpu_ms_per_request_bench")
    for name in ("ours_0ms", "baseline_0ms"):
        rows.append((f"{name} CPU ms per request: web / cluster / clients+sink", medians(s[name], *cpu)))
    rows += [
        ("inbox latency idle p50/p95 ms", medians(ours, "inbox_p50_ms_idle", "inbox_p95_ms_idle")),
        ("inbox latency loaded p50/p95 ms", medians(ours, "inbox_p50_ms_loaded", "inbox_p95_ms_loaded")),
        ("web RSS / PSS MB (master + 2 workers)", medians(ours, "web_rss_mb", "web_pss_mb")),
        ("cluster RSS / PSS MB (6 processes)", medians(ours, "cluster_rss_mb", "cluster_pss_mb")),
        ("goal: ours@500 / baseline@500 >= 15", result["goals"]["ours_500ms_vs_baseline_500ms"]),
        ("goal: ours@500 / ours@0 >= 0.9", result["goals"]["ours_500ms_vs_ours_0ms"]),
        ("goal: ours@0 / baseline@0 >= 1.0", result["goals"]["ours_0ms_vs_baseline_0ms"]),
        ("  the same, worker after the load", result["goals"]["ours_0ms_worker_after_vs_baseline_0ms"]),
    ]
    report("request_path", result, rows)
    return result


if __name__ == "__main__":
    main()
