#!/usr/bin/env python3
"""Plots a bench/run.sh summary.json: writes latency.png and throughput.png next to it.

Usage: python3 bench/plot.py bench/results/<timestamp>/summary.json
Needs matplotlib (pip install matplotlib); renders off-screen (Agg backend).
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.patches import Patch  # noqa: E402


def short_label(e):
    """A compact x-axis label: method + path, with the long query string kept readable."""
    route = e.get("route", e["path"]).replace("/api/", "/").replace("?", "\n?")
    return f'{e["method"]}\n{route}'


def plot_latency(summary, endpoints, out):
    labels = [short_label(e) for e in endpoints]
    p50 = [max(e["latency_ms"]["p50"], 1e-3) for e in endpoints]
    p99 = [max(e["latency_ms"]["p99"], 1e-3) for e in endpoints]
    xs = range(len(endpoints))
    width = 0.38

    fig, ax = plt.subplots(figsize=(max(8, 1.35 * len(endpoints)), 5.2))
    bars50 = ax.bar([x - width / 2 for x in xs], p50, width, label="p50", color="#4C72B0")
    bars99 = ax.bar([x + width / 2 for x in xs], p99, width, label="p99", color="#DD8452")
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_title(f'Fleet latency per endpoint ({title_suffix(summary)})', fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend()
    for bars in (bars50, bars99):
        for bar in bars:
            ax.annotate(fmt_ms(bar.get_height()), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_throughput(summary, endpoints, out):
    labels = [short_label(e) for e in endpoints]
    rps = [e["rps"] for e in endpoints]
    colors = ["#55A868" if e["name"] == "ceiling" else ("#C44E52" if e.get("non2xx") else "#4C72B0") for e in endpoints]

    fig, ax = plt.subplots(figsize=(max(8, 1.35 * len(endpoints)), 5.2))
    bars = ax.bar(range(len(endpoints)), rps, color=colors)
    ceiling = summary.get("ceiling_rps")
    if ceiling:
        ax.axhline(ceiling, color="#55A868", linestyle="--", linewidth=1.2, label=f"ceiling (/health/live): {ceiling:,.0f} req/s")
    handles, _ = ax.get_legend_handles_labels()
    if any(e.get("non2xx") for e in endpoints):
        handles.append(Patch(color="#C44E52", label="had non-2xx replies"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8)
    for bar, e in zip(bars, endpoints):
        ratio = e.get("ratio_to_ceiling_pct")
        text = f'{e["rps"]:,.0f}' + (f"\n{ratio:.1f}%" if ratio is not None and e["name"] != "ceiling" else "")
        if e.get("non2xx"):
            text += f'\n{e["non2xx"]} non-2xx!'
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_ylabel("requests per second")
    ax.set_xticks(range(len(endpoints)), labels, fontsize=8)
    ax.set_ylim(0, max(rps + [ceiling or 0]) * 1.2 or 1)
    ax.set_title(f'Fleet throughput per endpoint ({title_suffix(summary)})', fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def fmt_ms(value):
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def title_suffix(summary):
    meta = summary.get("meta", {})
    return f'{meta.get("build", "?")} build, {meta.get("connections", "?")} conns, {meta.get("duration", "?")}, {meta.get("timestamp", "")}'


def main(path):
    summary = json.loads(path.read_text())
    endpoints = [e for e in summary["endpoints"] if "rps" in e]
    if not endpoints:
        sys.exit("plot.py: no endpoint has results")
    plot_latency(summary, endpoints, path.parent / "latency.png")
    plot_throughput(summary, endpoints, path.parent / "throughput.png")
    print(f"wrote {path.parent / 'latency.png'} and {path.parent / 'throughput.png'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: plot.py path/to/summary.json")
    main(Path(sys.argv[1]))
