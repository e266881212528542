#!/usr/bin/env python3
"""Turns one run folder of bench/run.sh into summary.json and summary.md.

Reads RUN_DIR/meta.tsv (key<TAB>value) and RUN_DIR/endpoints.tsv (one row per endpoint,
columns listed in COLUMNS), plus the raw wrk outputs they name, each of which holds a
"BENCH_JSON {...}" line printed by bench/wrk/common.lua, and the server's /metrics scraped
right before and right after each measured run (the last two columns, "-" when a scrape
failed; absent in folders from before they existed). From those scrapes, per endpoint:
SQL statements per request, the share of database reads served by replicas (only with
--database-replica-urls) and the L1 cache hit ratio; null in JSON, "–" in Markdown when
they cannot be computed.

Prints the Markdown table. Exit status: 0 when every endpoint answered 2xx only,
3 when some endpoint produced non-2xx replies that point to a bug (anything but 429/503),
4 when a wrk run produced no result at all.
"""

import json
import sys
from pathlib import Path

from metrics_scrape import deltas, has_metric, scrape, total  # the /metrics parser, shared with cache_summary.py

COLUMNS = ["index", "name", "method", "path", "route", "connections", "raw", "rerun", "probe_status", "server_cpu_s", "server_rss_kb",
           "metrics_before", "metrics_after"]
SQL_METRIC = "db_client_operation_duration_seconds_count"   # one per statement; the Redis client records here too
READS_METRIC = "db_client_reads_total"                       # db_node=primary|replica; only with replicas
CACHE_METRIC = "cache_requests_total"                        # cache=..., layer=l1|l2, result=hit|miss|stale|error
OVERLOAD_STATUSES = {429, 503}  # expected under overload once Fleet sheds load; not bugs


def bench_json(path):
    """The result line of one wrk run, or None when wrk failed before printing it."""
    if not path.is_file():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    return None


def server_counts(run_dir, row, requests):
    """The /metrics figures of one measured run: what the server did between the two scrapes.

    Every value is None when it cannot be computed: a scrape is missing, the metric is not
    exported (no replicas, say), or nothing was counted (no reads, no cache lookups).
    """
    counts = {"sql_statements": None, "sql_per_request": None, "redis_commands": None,
              "db_reads": None, "replica_reads_pct": None,
              "cache_l1": None, "l1_hit_pct": None}
    names = [row.get("metrics_before", "-"), row.get("metrics_after", "-")]
    if "-" in names or not all((run_dir / n).is_file() for n in names):
        return counts
    before, after = scrape(run_dir / names[0]), scrape(run_dir / names[1])
    if not before or not after:
        return counts
    delta = deltas(before, after)

    if has_metric(after, SQL_METRIC):
        sql = round(total(delta, SQL_METRIC, lambda labels: labels.get("db_system") != "redis"))
        counts["sql_statements"] = sql
        counts["redis_commands"] = round(total(delta, SQL_METRIC, lambda labels: labels.get("db_system") == "redis"))
        if requests:
            counts["sql_per_request"] = round(sql / requests, 3)

    if has_metric(after, READS_METRIC):
        reads = {node: round(total(delta, READS_METRIC, lambda labels, node=node: labels.get("db_node") == node))
                 for node in ("primary", "replica")}
        counts["db_reads"] = reads
        if reads["primary"] + reads["replica"]:
            counts["replica_reads_pct"] = round(100 * reads["replica"] / (reads["primary"] + reads["replica"]), 2)

    if has_metric(after, CACHE_METRIC):
        l1 = {result: round(total(delta, CACHE_METRIC, lambda labels, r=result: labels.get("layer") == "l1" and labels.get("result") == r))
              for result in ("hit", "miss", "stale")}
        counts["cache_l1"] = l1
        if sum(l1.values()):
            counts["l1_hit_pct"] = round(100 * l1["hit"] / sum(l1.values()), 2)
    return counts


def number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def main(run_dir):
    meta = {}
    for line in (run_dir / "meta.tsv").read_text().splitlines():
        key, _, value = line.partition("\t")
        meta[key] = number(value)

    rows = [dict(zip(COLUMNS, line.split("\t"))) for line in (run_dir / "endpoints.tsv").read_text().splitlines() if line]
    endpoints, problems, missing = [], [], False
    duration = None
    for row in rows:
        result = bench_json(run_dir / row["raw"])
        rerun = bench_json(run_dir / row["rerun"]) if row["rerun"] != "-" else None
        label = f'{row["method"]} {row["route"]}'
        entry = {
            "name": row["name"],
            "label": label,
            "method": row["method"],
            "path": row["path"],
            "route": row["route"],
            "connections": int(row["connections"]),
            "probe_status": int(row["probe_status"]),
            "raw": row["raw"],
        }
        if result is None:
            missing = True
            entry["error"] = f'wrk produced no result, see {row["raw"]}'
            problems.append({"endpoint": label, "severity": "error", "message": entry["error"]})
            endpoints.append(entry)
            continue

        duration = result["duration_s"]
        cpu_s = float(row["server_cpu_s"])
        entry.update({
            "requests": result["requests"],
            "rps": result["rps"],
            "latency_ms": result["latency_ms"],
            "non2xx": result["non2xx"],
            "errors": result["errors"],
            "server_cpu_pct": round(100 * cpu_s / result["duration_s"], 1) if result["duration_s"] else None,
            "server_rss_mb": round(int(row["server_rss_kb"]) / 1024, 1),
        })
        entry.update(server_counts(run_dir, row, result["requests"]))
        if row.get("metrics_before", "-") != "-":
            entry["metrics"] = {"before": row["metrics_before"], "after": row.get("metrics_after", "-")}
        if rerun is not None:
            entry["status_codes_rerun"] = {int(k): v for k, v in rerun["status_codes"].items()}
            entry["rerun"] = row["rerun"]

        # Problems: a failing probe or any non-2xx is a bug unless every bad status is 429/503.
        if entry["probe_status"] // 100 != 2:
            problems.append({"endpoint": label, "severity": "bug",
                             "message": f'single request before the run answered {entry["probe_status"]} (reply saved next to {row["raw"]})'})
        if entry["non2xx"]:
            codes = entry.get("status_codes_rerun", {})
            bad = {c: n for c, n in codes.items() if c // 100 != 2}
            if bad and set(bad) <= OVERLOAD_STATUSES:
                severity, detail = "overload", f"statuses {bad} in the diagnostic re-run (load shedding, not a bug)"
            elif bad:
                severity, detail = "bug", f"statuses {bad} in the diagnostic re-run"
            else:
                severity, detail = "bug", "the diagnostic re-run saw no non-2xx replies, so the statuses are unknown"
            problems.append({"endpoint": label, "severity": severity,
                             "message": f'{entry["non2xx"]} non-2xx replies out of {entry["requests"]}; {detail}'})
        socket_errors = sum(entry["errors"].values())
        if socket_errors:
            problems.append({"endpoint": label, "severity": "warning",
                             "message": f'socket errors {entry["errors"]} (timeouts are replies slower than the wrk --timeout)'})
        endpoints.append(entry)

    ceiling = next((e["rps"] for e in endpoints if e["name"] == "ceiling" and "rps" in e), None)
    for entry in endpoints:
        if "rps" in entry and ceiling:
            entry["ratio_to_ceiling_pct"] = round(100 * entry["rps"] / ceiling, 2)

    summary = {"meta": meta, "ceiling_rps": ceiling, "endpoints": endpoints, "problems": problems}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    markdown = render_markdown(summary, duration)
    (run_dir / "summary.md").write_text(markdown)
    print(markdown)

    if missing:
        return 4
    return 3 if any(p["severity"] == "bug" for p in problems) else 0


def render_markdown(summary, duration):
    meta = summary["meta"]
    out = [f'# Fleet benchmark {meta.get("timestamp", "")}', ""]
    out.append(f'- Commit: `{meta.get("commit", "?")}`, binary: `{meta.get("binary", "?")}` ({meta.get("build", "?")})')
    out.append(f'- wrk: {meta.get("wrk_threads", "?")} threads, {meta.get("duration", "?")} per endpoint, '
               f'{meta.get("connections", "?")} connections ({meta.get("login_connections", "?")} for login), '
               f'timeout {meta.get("timeout", "?")}')
    out.append(f'- Data set: {meta.get("dataset_users", "?")} users, {meta.get("dataset_articles", "?")} articles '
               f'(seeded by {meta.get("seeded_by", "?")}), bcrypt cost {meta.get("bcrypt_cost", "?")}')
    out.append(f'- Machine: {meta.get("cpus", "?")} CPUs, load before the run: {meta.get("load_before", "?")}; '
               "wrk and the server share the machine")
    out.append("")
    out.append("| # | Endpoint | Conns | req/s | % of ceiling | p50 ms | p99 ms | non-2xx | socket errors | server CPU "
               "| SQL/req | replica reads | L1 hit |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, e in enumerate(summary["endpoints"], 1):
        if "rps" not in e:
            out.append(f'| {i} | `{e["label"]}` | {e["connections"]} | n/a | | | | | | | | | |')
            continue
        lat = e["latency_ms"]
        ratio = e.get("ratio_to_ceiling_pct")
        non2xx = f'**{e["non2xx"]}**' if e["non2xx"] else "0"
        errors = sum(e["errors"].values())
        out.append(
            f'| {i} | `{e["label"]}` | {e["connections"]} | {e["rps"]:,.1f} | '
            f'{"" if ratio is None else f"{ratio:.1f}%"} | {lat["p50"]:.2f} | {lat["p99"]:.2f} | '
            f'{non2xx} | {errors} | {"" if e["server_cpu_pct"] is None else f"""{e["server_cpu_pct"]:.0f}%"""} | '
            f'{dash(e.get("sql_per_request"), "{:.2f}")} | {dash(e.get("replica_reads_pct"), "{:.1f}%")} | '
            f'{dash(e.get("l1_hit_pct"), "{:.1f}%")} |')
    out.append("")
    out.append("Server CPU: 100% = one core. Latency percentiles cover replies within the wrk timeout only.")
    out.append("")
    out.append("From the server's /metrics before and after each measured run (not the warm-up): "
               "SQL/req = `db_client_operation_duration_seconds_count` (Redis excluded) / wrk requests; "
               "replica reads = replica / (primary + replica) of `db_client_reads_total` (only with "
               "`--database-replica-urls`); L1 hit = hit / (hit + miss + stale) of `cache_requests_total{layer=\"l1\"}` "
               "over all caches. –: not applicable or not measured.")
    out.append("")
    if summary["problems"]:
        out.append("## Problems")
        out.append("")
        for p in summary["problems"]:
            out.append(f'- **{p["severity"].upper()}** `{p["endpoint"]}`: {p["message"]}')
    else:
        out.append("No problems: every reply was 2xx and there were no socket errors.")
    return "\n".join(out) + "\n"


def dash(value, spec):
    """A table cell: the formatted value, or an en dash when there is none."""
    return "–" if value is None else spec.format(value)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RUN_DIR")
    sys.exit(main(Path(sys.argv[1])))
