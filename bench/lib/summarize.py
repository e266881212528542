#!/usr/bin/env python3
"""Turns one run folder of bench/run.sh into summary.json and summary.md.

Reads RUN_DIR/meta.tsv (key<TAB>value) and RUN_DIR/endpoints.tsv (one row per endpoint,
columns listed in COLUMNS), plus the raw wrk outputs they name, each of which holds a
"BENCH_JSON {...}" line printed by bench/wrk/common.lua.

Prints the Markdown table. Exit status: 0 when every endpoint answered 2xx only,
3 when some endpoint produced non-2xx replies that point to a bug (anything but 429/503),
4 when a wrk run produced no result at all.
"""

import json
import sys
from pathlib import Path

COLUMNS = ["index", "name", "method", "path", "route", "connections", "raw", "rerun", "probe_status", "server_cpu_s", "server_rss_kb"]
OVERLOAD_STATUSES = {429, 503}  # expected under overload once Fleet sheds load; not bugs


def bench_json(path):
    """The result line of one wrk run, or None when wrk failed before printing it."""
    if not path.is_file():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    return None


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
    out.append("| # | Endpoint | Conns | req/s | % of ceiling | p50 ms | p99 ms | non-2xx | socket errors | server CPU |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, e in enumerate(summary["endpoints"], 1):
        if "rps" not in e:
            out.append(f'| {i} | `{e["label"]}` | {e["connections"]} | n/a | | | | | | |')
            continue
        lat = e["latency_ms"]
        ratio = e.get("ratio_to_ceiling_pct")
        non2xx = f'**{e["non2xx"]}**' if e["non2xx"] else "0"
        errors = sum(e["errors"].values())
        out.append(
            f'| {i} | `{e["label"]}` | {e["connections"]} | {e["rps"]:,.1f} | '
            f'{"" if ratio is None else f"{ratio:.1f}%"} | {lat["p50"]:.2f} | {lat["p99"]:.2f} | '
            f'{non2xx} | {errors} | {"" if e["server_cpu_pct"] is None else f"""{e["server_cpu_pct"]:.0f}%"""} |')
    out.append("")
    out.append("Server CPU: 100% = one core. Latency percentiles cover replies within the wrk timeout only.")
    out.append("")
    if summary["problems"]:
        out.append("## Problems")
        out.append("")
        for p in summary["problems"]:
            out.append(f'- **{p["severity"].upper()}** `{p["endpoint"]}`: {p["message"]}')
    else:
        out.append("No problems: every reply was 2xx and there were no socket errors.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RUN_DIR")
    sys.exit(main(Path(sys.argv[1])))
