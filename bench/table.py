#!/usr/bin/env python3
"""Prints the Herald-vs-nchan comparison table from a run_compare.sh results file (JSONL).

    python3 bench/table.py bench/results/compare-….jsonl [--markdown]
"""
import json
import sys

# scenario -> [(metric, label, better)]; better is "high" or "low".
METRICS = {
    "idle": [
        ("connections_opened", "connections opened", "high"),
        ("connect_total_ms", "connect all, ms", "low"),
        ("connect_p50_ms", "connect p50, ms", "low"),
        ("connect_p99_ms", "connect p99, ms", "low"),
        ("server_rss_per_connection_bytes", "server RSS per connection, B", "low"),
        ("server_pss_per_connection_bytes", "server PSS per connection, B", "low"),
        ("connect_server_cpu_s", "server CPU, s", "low"),
        ("connect_loadgen_cpu_s", "loadgen CPU, s", "low"),
        ("connect_other_cpu_pct", "other processes, % of a core", "low"),
    ],
    "fanout": [
        ("deliveries_per_s", "deliveries/s", "high"),
        ("publishes_per_s", "publishes/s", "high"),
        ("deliveries_missing", "deliveries missing", "low"),
        ("latency_p50_ms", "latency p50, ms", "low"),
        ("latency_p99_ms", "latency p99, ms", "low"),
        ("latency_max_ms", "latency max, ms", "low"),
        ("run_server_cpu_pct", "server CPU, % of a core", "low"),
        ("run_loadgen_cpu_pct", "loadgen CPU, % of a core", "low"),
        ("run_other_cpu_pct", "other processes, % of a core", "low"),
    ],
    "latency": [
        ("publishes_per_s", "publishes/s achieved", "high"),
        ("latency_p50_ms", "latency p50, ms", "low"),
        ("latency_p99_ms", "latency p99, ms", "low"),
        ("latency_max_ms", "latency max, ms", "low"),
        ("latency_incl_warmup_p99_ms", "p99 incl. first 2 s, ms", "low"),
        ("latency_incl_warmup_max_ms", "max incl. first 2 s, ms", "low"),
        ("deliveries_missing", "deliveries missing", "low"),
        ("run_server_cpu_pct", "server CPU, % of a core", "low"),
        ("run_loadgen_cpu_pct", "loadgen CPU, % of a core", "low"),
        ("run_other_cpu_pct", "other processes, % of a core", "low"),
    ],
    "publish": [
        ("publishes_per_s", "publishes/s", "high"),
        ("events_failed", "events failed", "low"),
        ("publish_retries", "retries (429/503)", "low"),
        ("run_server_cpu_pct", "server CPU, % of a core", "low"),
        ("run_loadgen_cpu_pct", "loadgen CPU, % of a core", "low"),
        ("run_other_cpu_pct", "other processes, % of a core", "low"),
    ],
}


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.2f}"


def cell(rec, metric):
    if rec is None:
        return "-"
    if rec.get("pending"):
        return "pending"
    if "error" in rec:
        return "error"
    return fmt(rec.get(metric))


def main():
    path = sys.argv[1]
    markdown = "--markdown" in sys.argv
    rows = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            key = (rec.get("scenario"), rec.get("size"), str(rec.get("server_threads")))
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][rec.get("target")] = rec
    out = []
    if markdown:
        out.append("| scenario | size | threads | metric | Herald | nchan | Herald/nchan |")
        out.append("|---|---|---|---|---|---|---|")
    else:
        out.append(f"{'scenario':8} {'size':22} {'thr':>3}  {'metric':32} {'Herald':>12} "
                   f"{'nchan':>12} {'Herald/nchan':>12}")
    for key in order:
        scenario, size, threads = key
        herald = rows[key].get("herald")
        nchan = rows[key].get("nchan")
        for metric, label, better in METRICS.get(scenario, []):
            h, n = cell(herald, metric), cell(nchan, metric)
            ratio = "-"
            try:
                hv, nv = float(herald[metric]), float(nchan[metric])
                if nv != 0:
                    ratio = f"{hv / nv:.2f}x"
            except (KeyError, TypeError, ValueError):
                pass
            label = f"{label} ({'higher' if better == 'high' else 'lower'} is better)"
            if markdown:
                out.append(f"| {scenario} | {size} | {threads} | {label} | {h} | {n} | {ratio} |")
            else:
                out.append(f"{scenario:8} {size:22} {threads:>3}  {label:32.32} {h:>12} {n:>12} "
                           f"{ratio:>12}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
