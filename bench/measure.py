"""Small helpers the benchmarks share: percentiles, repeated runs, process memory, output."""

import json
import os
import statistics
import subprocess


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(runs, key):
    """Median and range of `key` over the runs."""
    values = [run[key] for run in runs if run.get(key) is not None]
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    total = sum(tree_rss_mb(int(child)) for child in children)
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    except FileNotFoundError:  # it ended meanwhile
        pass
    return round(total, 1)


def machine():
    return {"cores": os.cpu_count(), "load_1m_before": round(os.getloadavg()[0], 2)}


def report(name, result, rows):
    """Print one JSON line (for machines) and a short table (for people)."""
    print(json.dumps({"benchmark": name, **result}))
    width = max(len(label) for label, _ in rows)
    print(f"\n{name}")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print()


def fmt(stat, unit=""):
    if stat is None:
        return "n/a"
    return f"{stat['median']}{unit} (range {stat['min']}-{stat['max']})"
