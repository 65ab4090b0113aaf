"""Small helpers the benchmarks share: percentiles, repeated runs, process memory, output."""

import json
import os
import resource
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
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def tree_memory_mb(pid):
    """Resident memory of a process and all its descendants, in MB (from /proc): `rss` counts
    the pages that forked workers share with their parent once per process, `pss` splits
    them between the processes, so it is what the tree really holds."""
    total = {"rss": 0.0, "pss": 0.0}
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for child in children:
        for key, value in tree_memory_mb(int(child)).items():
            total[key] += value
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                name, _, rest = line.partition(":")
                if name in ("Rss", "Pss"):
                    total[name.lower()] += int(rest.split()[0]) / 1024
    except FileNotFoundError:  # it ended meanwhile
        pass
    return {key: round(value, 1) for key, value in total.items()}


def tree_cpu_seconds(pid):
    """CPU time (user + system) used so far by a process and all its descendants alive now,
    in seconds (from /proc)."""
    total = 0.0
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for child in children:
        total += tree_cpu_seconds(int(child))
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:  # it ended meanwhile
        pass
    return total


def own_cpu_seconds():
    """CPU time used so far by this process (the load generator and the SMTP sink)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def medians(stats, *keys):
    """The medians of several summarized numbers as "a / b / c", for one table row."""
    return " / ".join(str(stats[key]["median"]) for key in keys)
