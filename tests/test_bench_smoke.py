"""The benchmarks still run (tiny sizes). Numbers are for bench/README.md, never asserted here."""

import json
import os
import subprocess

import pytest

from harness.processes import PYTHON, ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs once, in the SQLite pass (the delivery benchmark reaches PostgreSQL itself)",
    ),
]


@pytest.mark.parametrize(
    "module, args",
    [
        ("bench.request_path", ["--requests", "8", "--slow-requests", "2", "--runs", "1"]),
        (
            "bench.delivery",
            ["--mails", "30", "--requests", "10", "--runs", "1", "--provider-connections", "3"],
        ),
        ("bench.reset_timing", ["--requests", "5", "--runs", "1"]),
        ("bench.statements", []),
        ("bench.scale", ["--accounts", "3000", "--requests", "3"]),
        ("bench.api_path", ["--requests", "8", "--runs", "1"]),
    ],
)
def test_a_benchmark_prints_its_json_line_and_table(module, args):
    result = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    line = json.loads(next(out for out in result.stdout.splitlines() if out.startswith("{")))
    assert line["benchmark"] == module.split(".")[1] and line["summary"]
