"""Benchmark: does asking for a reset code take the same time for an address with an account
and for one without? (SECURITY.md 9: a timing difference is an account oracle.)

`--requests` accounts and as many unknown addresses, POSTed one at a time and interleaved
(account, unknown, account, ...) against gunicorn (2 sync workers) with the mail worker
running, on SQLite and on PostgreSQL (when reachable). Prints the median POST time of each
kind and their ratio; the goal is a difference under 5 %.
"""

import argparse
import tempfile
from pathlib import Path

from bench.delivery import database, postgres_url
from bench.measure import fmt, machine, percentile, report, summary
from bench.request_path import NO_LIMITS, OURS, post_reset
from harness.processes import Stack
from harness.smtp_sink import SmtpSink


def run_case(kind, requests):
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as sink, database(kind, tmp) as url:
        stack = Stack(database_url=url, smtp_port=sink.port, tmp_path=Path(tmp), **NO_LIMITS)
        accounts = stack.make_users(requests + 10)
        unknown = [f"nobody{n}@example.com" for n in range(requests + 10)]
        with stack.qcluster(), stack.web(workers=2):
            for email in accounts[-10:] + unknown[-10:]:  # warm up both processes and both paths
                post_reset(stack.base_url, OURS, email)
            times = {"account": [], "unknown": []}
            for account, stranger in zip(accounts[:requests], unknown[:requests], strict=True):
                times["account"].append(post_reset(stack.base_url, OURS, account)[1] * 1000)
                times["unknown"].append(post_reset(stack.base_url, OURS, stranger)[1] * 1000)
        medians = {name: percentile(values, 50) for name, values in times.items()}
        return {
            "account_p50_ms": medians["account"],
            "unknown_p50_ms": medians["unknown"],
            "difference_pct": 100 * abs(medians["account"] - medians["unknown"]) / medians["unknown"],
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    kinds = ["sqlite"] + (["postgres"] if postgres_url() else [])
    runs = {kind: [run_case(kind, args.requests) for _ in range(args.runs)] for kind in kinds}
    keys = ["account_p50_ms", "unknown_p50_ms", "difference_pct"]
    result = {
        "machine": machine(),
        "requests": args.requests,
        "runs": runs,
        "summary": {kind: {k: summary(r, k) for k in keys} for kind, r in runs.items()},
    }
    rows = []
    for kind in kinds:
        s = result["summary"][kind]
        rows += [
            (f"{kind}: POST p50 ms, account", fmt(s["account_p50_ms"])),
            (f"{kind}: POST p50 ms, no account", fmt(s["unknown_p50_ms"])),
            (f"{kind}: difference % (goal < 5)", fmt(s["difference_pct"])),
        ]
    report("reset_timing", result, rows)
    return result


if __name__ == "__main__":
    main()
