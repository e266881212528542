#!/usr/bin/env python3
"""Turns one bench/cache.sh run folder into summary.json, summary.md and (with matplotlib) cache.png.

Reads RUN_DIR/meta.tsv (key<TAB>value) and RUN_DIR/runs.tsv (name<TAB>label<TAB>wrk output
<TAB>/metrics before<TAB>/metrics after), one row per measured run. Each wrk output holds the
"BENCH_JSON {...}" line of bench/wrk/common.lua; the two /metrics scrapes around the run give
the deltas of the cache, SQL and HTTP counters.

Prints the Markdown summary. Exit status: 0 all good, 3 some run had non-2xx replies,
4 some run produced no result.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from metrics_scrape import deltas, scrape  # the one /metrics parser, shared with summarize.py


def bench_json(path):
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("BENCH_JSON "):
                return json.loads(line[len("BENCH_JSON "):])
    return None


def counters(delta):
    """The cache, SQL and HTTP counts of one measured run, from the /metrics deltas."""
    cache = defaultdict(float)   # (layer, result) -> count, summed over caches
    sql = redis = http_api = http_all = 0.0
    for (name, labels), value in delta.items():
        labels = dict(labels)
        if name == "cache_requests_total":
            cache[(labels.get("layer", "?"), labels.get("result", "?"))] += value
        elif name == "db_client_operation_duration_seconds_count":
            if labels.get("db_system") == "redis":
                redis += value
            else:
                sql += value
        elif name == "http_server_request_duration_seconds_count":
            http_all += value
            if labels.get("http_route", "").startswith("/api"):
                http_api += value

    def ratio(hits, total):
        return hits / total if total else None

    def layer_ratio(layer):
        total = sum(cache[(layer, r)] for r in ("hit", "miss", "stale", "error"))
        return ratio(cache[(layer, "hit")], total)

    return {
        "cache_requests": {f"{layer}_{result}": int(n) for (layer, result), n in sorted(cache.items())},
        "hit_ratio_l1": layer_ratio("l1"),
        "hit_ratio_l2": layer_ratio("l2"),
        "hit_ratio_overall": ratio(cache[("l1", "hit")] + cache[("l2", "hit")], cache[("l1", "hit")] + cache[("l1", "miss")]),
        "sql_statements": int(sql),
        "redis_commands": int(redis),
        "http_api_requests": int(http_api),
        "http_requests": int(http_all),
    }


def main(run_dir):
    meta = dict(line.split("\t", 1) for line in (run_dir / "meta.tsv").read_text().splitlines() if "\t" in line)
    runs, missing = [], False
    for line in (run_dir / "runs.tsv").read_text().splitlines():
        name, label, raw, before, after = line.split("\t")
        run = {"name": name, "label": label, "raw": raw}
        result = bench_json(run_dir / raw)
        if result is None:
            missing = True
            run["error"] = f"wrk produced no result, see {raw}"
        else:
            run.update(requests=result["requests"], rps=result["rps"], latency_ms=result["latency_ms"],
                       non2xx=result["non2xx"], socket_errors=result["errors"])
            run.update(counters(deltas(scrape(run_dir / before), scrape(run_dir / after))))
            run["sql_per_request"] = run["sql_statements"] / result["requests"] if result["requests"] else None
        runs.append(run)

    by_name = {r["name"]: r for r in runs if "rps" in r}
    ceiling = by_name.get("ceiling", {}).get("rps")
    for run in runs:
        if ceiling and "rps" in run:
            run["share_of_ceiling"] = run["rps"] / ceiling
    speedup = None
    if "off" in by_name and "on" in by_name and by_name["off"]["rps"]:
        speedup = by_name["on"]["rps"] / by_name["off"]["rps"]

    summary = {"meta": meta, "ceiling_rps": ceiling, "speedup_on_vs_off": speedup, "runs": runs}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(summary, run_dir / "cache.png")
    markdown = render_markdown(summary)
    (run_dir / "summary.md").write_text(markdown)
    print(markdown)

    if missing:
        return 4
    return 3 if any(r.get("non2xx") for r in runs) else 0


def pct(value):
    return "–" if value is None else f"{100 * value:.1f}%"


def render_markdown(summary):
    meta = summary["meta"]
    out = [f'# Fleet cache benchmark {meta.get("timestamp", "")}', ""]
    out.append(f'- Commit: `{meta.get("commit", "?")}`, binary: `{meta.get("binary", "?")}`, '
               f'settings: `{meta.get("settings") or "(none: SQLite, no Redis)"}`')
    out.append(f'- Requests: {meta.get("paths", "?")} anonymous GET paths, Zipf s={meta.get("zipf", "?")}, '
               f'walked in order from a per-thread offset; mix: {meta.get("mix", "?")}')
    out.append(f'- Distinct items in the path list: {meta.get("distinct", "?")}')
    out.append(f'- wrk: {meta.get("threads", "?")} threads, {meta.get("connections", "?")} connections, '
               f'{meta.get("warmup", "?")} warm-up then {meta.get("duration", "?")} measured, each run on a fresh server '
               "and a fresh copy of the data set")
    out.append(f'- Machine: {meta.get("cpus", "?")} CPUs, load before: {meta.get("load_before", "?")}; '
               "wrk and the server share the machine")
    out.append("")
    out.append("| run | req/s | share of ceiling | p50 ms | p99 ms | hit ratio L1 | hit ratio L2 | overall hit ratio | SQL per request | non-2xx |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary["runs"]:
        if "rps" not in r:
            out.append(f'| {r["label"]} | n/a ({r["error"]}) | | | | | | | | |')
            continue
        lat = r["latency_ms"]
        sql = "–" if r["sql_per_request"] is None else f'{r["sql_per_request"]:.2f}'
        non2xx = f'**{r["non2xx"]}**' if r["non2xx"] else "0"
        out.append(f'| {r["label"]} | {r["rps"]:,.0f} | {pct(r.get("share_of_ceiling"))} | {lat["p50"]:.2f} | '
                   f'{lat["p99"]:.2f} | {pct(r["hit_ratio_l1"])} | {pct(r["hit_ratio_l2"])} | '
                   f'{pct(r["hit_ratio_overall"])} | {sql} | {non2xx} |')
    out.append("")
    if summary["speedup_on_vs_off"] is not None:
        out.append(f'**Speedup, cache on vs off: {summary["speedup_on_vs_off"]:.2f}x** in req/s.')
        out.append("")
    out.append("Hit ratio per layer: hit / (hit + miss + stale + error) of `cache_requests_total` over the measured run; "
               "overall: lookups answered without the loader, (L1 hit + L2 hit) / (L1 hit + L1 miss). "
               "SQL per request: `db_client_operation_duration_seconds_count` (Redis excluded) / wrk requests.")
    for r in summary["runs"]:
        if "rps" in r and r["name"] != "ceiling" and r["http_api_requests"] and r["requests"]:
            # Up to one request per connection may still be in flight when wrk stops counting.
            off_by = r["http_api_requests"] / r["requests"] - 1
            in_flight = int(meta.get("connections") or 0)
            if abs(off_by) > 0.01 and abs(r["http_api_requests"] - r["requests"]) > in_flight:
                out.append("")
                out.append(f'Note: for `{r["label"]}` the server counted {r["http_api_requests"]} API requests, '
                           f'wrk {r["requests"]} ({100 * off_by:+.1f}%).')
    problems = [f'- `{r["label"]}`: {r["non2xx"]} non-2xx replies' for r in summary["runs"] if r.get("non2xx")]
    problems += [f'- `{r["label"]}`: socket errors {r["socket_errors"]}' for r in summary["runs"]
                 if "rps" in r and sum(r["socket_errors"].values())]
    if problems:
        out += ["", "## Problems", ""] + problems
    return "\n".join(out) + "\n"


def plot(summary, out):
    try:
        import matplotlib
    except ImportError:
        print(f"matplotlib is not installed, so no {out.name}: pip install matplotlib, then run "
              f"python3 bench/lib/cache_summary.py {out.parent}")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in summary["runs"] if "rps" in r and r["name"] != "ceiling"]
    if not runs:
        return
    labels = [r["label"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    bars = left.bar(labels, [r["rps"] for r in runs], color=["#C44E52" if r["name"] == "off" else "#4C72B0" for r in runs])
    for bar, r in zip(bars, runs):
        left.annotate(f'{r["rps"]:,.0f}\n{pct(r.get("share_of_ceiling"))} of ceiling', (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    if summary["ceiling_rps"]:
        left.axhline(summary["ceiling_rps"], color="#55A868", linestyle="--", label=f'ceiling /health/live: {summary["ceiling_rps"]:,.0f}')
        left.legend(fontsize=8, loc="lower right")
    left.set_ylabel("requests per second")
    left.set_ylim(0, max([r["rps"] for r in runs] + [summary["ceiling_rps"] or 0]) * 1.2)
    speedup = summary["speedup_on_vs_off"]
    left.set_title("Throughput" + (f" (cache on: {speedup:.2f}x)" if speedup else ""), fontsize=10)
    left.grid(axis="y", alpha=0.3)

    width = 0.8 / len(runs)
    for i, r in enumerate(runs):
        xs = [x + (i - (len(runs) - 1) / 2) * width for x in range(3)]
        values = [max(r["latency_ms"][p], 1e-3) for p in ("p50", "p95", "p99")]
        right.bar(xs, values, width, label=r["label"], color=bars[i].get_facecolor())
        for x, v in zip(xs, values):
            right.annotate(f"{v:.2f}" if v < 10 else f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=7,
                           xytext=(0, 2), textcoords="offset points")
    right.set_xticks(range(3), ["p50", "p95", "p99"])
    right.set_yscale("log")
    right.set_ylabel("latency (ms, log scale)")
    right.set_title("Latency", fontsize=10)
    right.legend(fontsize=8)
    right.grid(axis="y", which="both", alpha=0.3)
    meta = summary["meta"]
    fig.suptitle(f'Fleet cache, Zipf s={meta.get("zipf", "?")}, {meta.get("connections", "?")} conns, '
                 f'{meta.get("duration", "?")}, {meta.get("timestamp", "")}', fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: cache_summary.py RUN_DIR")
    sys.exit(main(Path(sys.argv[1])))
