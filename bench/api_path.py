"""Benchmark: password-reset requests through the JSON API next to the HTML form, in the same
run, against one gunicorn (2 sync workers, SQLite) with the real worker and an SMTP sink.

The form client GETs the page for its CSRF token and times only the POST (as
bench/request_path.py does); the API client is an app (X-Session-Token, no CSRF) and times
its one POST. req/s and POST p50/p95 for `--requests` requests at concurrency 8, cases
interleaved run by run, so both see the same machine.
"""

import argparse
import json
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.measure import fmt, machine, medians, percentile, report, summary
from bench.request_path import NO_LIMITS, OURS, post_reset
from harness.processes import Stack
from harness.smtp_sink import SmtpSink

API = "/api/v1/password-reset"


def post_api_reset(base_url, email):
    request = urllib.request.Request(
        base_url + API,
        data=json.dumps({"email": email}).encode(),
        headers={"Content-Type": "application/json", "X-Session-Token": ""},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 202, answer.status
        answer.read()
    return started, time.monotonic() - started


CLIENTS = {
    "form": lambda base_url, email: post_reset(base_url, OURS, email),
    "api": post_api_reset,
}


def load(post, base_url, emails, concurrency):
    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = list(pool.map(lambda email: post(base_url, email), emails))
    posts = [seconds * 1000 for _, seconds in timings]
    return {
        "req_per_s": len(emails) / (time.monotonic() - began),
        "post_p50_ms": percentile(posts, 50),
        "post_p95_ms": percentile(posts, 95),
    }


def run(*, requests, runs, concurrency):
    results = {name: [] for name in CLIENTS}
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as sink:
        stack = Stack(
            database_url=f"sqlite:///{tmp}/bench.sqlite3",
            smtp_port=sink.port,
            tmp_path=Path(tmp),
            **NO_LIMITS,
        )
        emails = iter(stack.make_users((requests + 1) * runs * len(CLIENTS)))
        with stack.qcluster(), stack.web(workers=2):
            for post in CLIENTS.values():
                post(stack.base_url, next(emails))  # warm up
            for _ in range(runs):
                for name, post in CLIENTS.items():
                    batch = [next(emails) for _ in range(requests)]
                    results[name].append(load(post, stack.base_url, batch, concurrency))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)

    runs = run(requests=args.requests, runs=args.runs, concurrency=args.concurrency)
    keys = ["req_per_s", "post_p50_ms", "post_p95_ms"]
    s = {name: {k: summary(r, k) for k in keys} for name, r in runs.items()}
    result = {"machine": machine(), "runs": runs, "summary": s}
    result["goals"] = {
        "api_vs_form": round(s["api"]["req_per_s"]["median"] / s["form"]["req_per_s"]["median"], 2)
    }
    rows = []
    for name in CLIENTS:
        rows.append((f"{name} req/s", fmt(s[name]["req_per_s"])))
        rows.append((f"{name} POST p50/p95 ms", medians(s[name], "post_p50_ms", "post_p95_ms")))
    rows.append(("goal: api / form req/s >= 1.0", result["goals"]["api_vs_form"]))
    report("api_path", result, rows)
    return result


if __name__ == "__main__":
    main()
