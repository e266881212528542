#!/usr/bin/env python3
"""Summarizes a bench/shedding.sh run: prints a Markdown table, writes summary.json and
shedding.png (goodput and p99 of admitted requests per second: shedding off, on with the
concurrency limit alone, and on with the queue-wait signal as well, the default), with
each run's server and client CPU share.

Usage: python3 bench/shedding_plot.py OUT_DIR CAPACITY
Needs matplotlib for the plot (the table is printed without it).
"""

import json
import sys
from pathlib import Path

out, capacity = Path(sys.argv[1]), float(sys.argv[2])
overloads = [name for name in ("shedding-off", "shedding-limit-only", "shedding-on") if (out / name / "report.json").exists()]
runs = {name: json.loads((out / name / "report.json").read_text()) for name in ["capacity", "unloaded", *overloads]}


def summary(name, report):
    total = report["total"]
    cpu_file = out / name / "cpu.json"
    cpu = json.loads(cpu_file.read_text()) if cpu_file.exists() else {}
    good = total["requests"] - total["errors"]
    return {
        "offered_per_s": round(total["rate"], 1),
        "goodput_per_s": round(good / report["durationSeconds"], 1),
        "errors_percent": round(total["errorRatePercent"], 2),
        "errors_by_kind": total["errorsByKind"],
        "admitted_p50_ms": (total.get("latencyMs") or {}).get("p50"),
        "admitted_p99_ms": (total.get("latencyMs") or {}).get("p99"),
        "server_cpu": round(cpu["server"], 2) if "server" in cpu else None,
        "client_cpu": round(cpu["client"], 2) if "client" in cpu else None,
    }


rows = {name: summary(name, report) for name, report in runs.items()}
unloaded_p99 = rows["unloaded"]["admitted_p99_ms"]
verdict = {}
for name in overloads:
    row = rows[name]
    row["p99_vs_unloaded"] = round(row["admitted_p99_ms"] / unloaded_p99, 2) if row["admitted_p99_ms"] and unloaded_p99 else None
    row["goodput_vs_capacity"] = round(row["goodput_per_s"] / capacity, 3)
on = rows["shedding-on"]
verdict = {
    "admitted p99 within 3x of unloaded": bool(on["p99_vs_unloaded"] is not None and on["p99_vs_unloaded"] <= 3),
    "goodput >= 90% of capacity": on["goodput_vs_capacity"] >= 0.9,
}
# The floor under refusal (floor.json, wrk): refusing at r times the mix's average cost,
# g + (2C - g) r = C at twice the capacity C, so goodput g is at most (1 - 2r) / (1 - r) of C.
floor = None
floor_file = out / "floor.json"
if floor_file.exists() and rows["capacity"]["server_cpu"]:
    floor = json.loads(floor_file.read_text())
    floor["mix_average_us"] = round(rows["capacity"]["server_cpu"] / rows["capacity"]["goodput_per_s"] * 1e6, 1)
    for route in ("health_live", "not_found"):
        r = floor[f"{route}_us"] / floor["mix_average_us"]
        floor[f"{route}_share_of_average"] = round(r, 3)
        floor[f"{route}_goodput_ceiling"] = round((1 - 2 * r) / (1 - r), 3)
    # What a refusal cost in the default run, if its admitted requests cost what they do at capacity.
    if on["server_cpu"]:
        refused = on["offered_per_s"] - on["goodput_per_s"]
        floor["refusal_in_default_run_us"] = round((on["server_cpu"] - on["goodput_per_s"] * floor["mix_average_us"] / 1e6) / refused * 1e6, 1)
(out / "summary.json").write_text(json.dumps({"capacity_per_s": capacity, "runs": rows, "verdict": verdict, "refusal_floor": floor}, indent=2))
print(f"capacity (closed model, 64 connections): {capacity:.0f} requests/s\n")
print("| run | offered/s | goodput/s | errors % | admitted p50 ms | admitted p99 ms | p99 / unloaded | goodput / capacity | server CPU | client CPU |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, row in rows.items():
    print(f"| {name} | {row['offered_per_s']} | {row['goodput_per_s']} | {row['errors_percent']} | {row['admitted_p50_ms']} | "
          f"{row['admitted_p99_ms']} | {row.get('p99_vs_unloaded', '')} | {row.get('goodput_vs_capacity', '')} | {row['server_cpu']} | {row['client_cpu']} |")
print()
for what, ok in verdict.items():
    print(f"- {what}: {'met' if ok else 'NOT met'}")
if floor:
    print(f"\nServer CPU per request: the mix at capacity {floor['mix_average_us']} µs; under wrk, /health/live "
          f"{floor['health_live_us']:.1f} µs, a 404 {floor['not_found_us']:.1f} µs.")
    print(f"A refusal costing no less than those caps goodput at twice the capacity at {floor['health_live_goodput_ceiling']} "
          f"({floor['not_found_goodput_ceiling']}) of capacity; 0.9 needs a refusal under a tenth of the average request.")
    if "refusal_in_default_run_us" in floor:
        print(f"In the default run a refusal cost about {floor['refusal_in_default_run_us']} µs (open-model arrivals, not batched).")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot")
    sys.exit(0)
figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
colors = {"shedding-off": "tab:red", "shedding-limit-only": "tab:orange", "shedding-on": "tab:green"}
for name in overloads:
    color = colors[name]
    intervals = runs[name]["intervals"]
    seconds = [i["second"] for i in intervals]
    top.plot(seconds, [i["requests"] - i["errors"] for i in intervals], color=color, label=f"{name}: goodput")
    bottom.plot(seconds, [i["p99Ms"] or float("nan") for i in intervals], color=color, label=f"{name}: p99 of admitted")
top.axhline(capacity, color="grey", linestyle="--", label="capacity")
top.axhline(capacity * 0.9, color="grey", linestyle=":", label="90 % of capacity")
bottom.axhline(unloaded_p99 * 3, color="grey", linestyle=":", label="3 × unloaded p99")
top.set_ylabel("successful requests / s")
bottom.set_ylabel("ms (log)")
bottom.set_yscale("log")
bottom.set_xlabel("second of the run")
top.set_title(f"Offered load {rows['shedding-on']['offered_per_s']:.0f}/s = 2 × capacity, open model (T0, release)")
top.legend(fontsize=8)
bottom.legend(fontsize=8)
figure.tight_layout()
figure.savefig(out / "shedding.png", dpi=100)
print(f"plot: {out / 'shedding.png'}")
