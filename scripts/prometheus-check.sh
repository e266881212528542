#!/usr/bin/env bash
# Checks deploy/prometheus and deploy/grafana against a real Prometheus and real Fleet
# processes:
#
#   scripts/prometheus-check.sh [--bin PATH] [--keep]
#
#   1. installs Debian's prometheus package if promtool or prometheus is missing;
#   2. promtool check rules deploy/prometheus/alerts.yml, promtool test rules
#      deploy/prometheus/tests/*.yml, promtool check config deploy/prometheus/prometheus.yml,
#      and deploy/grafana/fleet.json parses;
#   3. starts two `fleet serve` instances (SQLite, each its own data dir), one `fleet worker`
#      and one `fleet recommender` from --bin (default .build/debug/fleet); the first API
#      asks the recommender, the second a port nobody listens on (so its breaker opens);
#   4. runs Prometheus on prometheus.yml with the targets replaced by those processes and
#      every interval at 1 s, and waits (bounded) until every target is up;
#   5. sends traffic (`fleet loadtest` on each API, recommendations, a burst of failed
#      sign-ins that ends in 429s), then evaluates through /api/v1/query every panel query
#      of fleet.json (Grafana's variables substituted) and every rule's expression as
#      Prometheus loaded it: any error fails, and so does an empty answer from the core
#      panels (request rate, latency percentiles, targets up). Every metric name the
#      dashboard and the rules use must be exported by the processes, except the few that
#      only PostgreSQL replicas, Redis or later events create (listed below, with why).
#
# Every process it starts is stopped on exit; --keep leaves the work folder (logs, the
# generated configuration) and prints its path. Prints its run time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s%N)
bin="$root/.build/debug/fleet" keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--keep]" >&2; exit 2 ;;
    esac
done
case $bin in /*) ;; *) bin="$root/$bin" ;; esac

log() { printf 'prometheus-check: %s\n' "$*"; }
fail() { printf 'prometheus-check: FAILED: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v ns="$(( $(date +%s%N) - started ))" 'BEGIN { printf "%.1f", ns / 1e9 }'; }

# --- 1. tools ----------------------------------------------------------------------------
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "$(prometheus --version 2>&1 | head -1)"

# --- 2. static checks --------------------------------------------------------------------
rules="$root/deploy/prometheus/alerts.yml"
dashboard="$root/deploy/grafana/fleet.json"
log "promtool check rules"
promtool check rules "$rules"
log "promtool test rules"
promtool test rules "$root"/deploy/prometheus/tests/*.yml
log "promtool check config (the example)"
promtool check config "$root/deploy/prometheus/prometheus.yml" >/dev/null
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dashboard" || fail "$dashboard is not valid JSON"
rule_count=$(grep -cE '^\s*- (alert|record):' "$rules")

# --- 3. a work folder, ports, and a cleanup that stops every process started ------------
[ -x "$bin" ] || fail "no fleet binary at $bin (swift build first, or give --bin PATH)"
# An older binary without the recommender role would take `fleet recommender` for its
# default subcommand, serve, on the default ports: refuse it instead.
"$bin" --help 2>/dev/null | grep -qE '^ +recommender ' || fail "$bin has no recommender subcommand (an older build?)"
dir=$(mktemp -d)
chmod 755 "$dir"
declare -a pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$keep" ]; then echo "prometheus-check: kept $dir" >&2; else rm -rf "$dir"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$root/scripts/free-port.sh"
wait_ready() {  # NAME URL LOG PID: waits (bounded) until URL answers 2xx
    for _ in $(seq 300); do
        curl -fs -o /dev/null "$2" && return
        kill -0 "$4" 2>/dev/null || { tail -20 "$3" >&2; fail "$1 exited"; }
        sleep 0.1
    done
    tail -20 "$3" >&2; fail "$1 was not ready within 30 s"
}

export FLEET_AUTH_JWT_SECRET=prometheus-check-secret-prometheus-check-42
api_ports=("$(free_port)" "$(free_port)") api_admins=("$(free_port)" "$(free_port)")
worker_admin=$(free_port) recommender_port=$(free_port) nobody_port=$(free_port) prometheus_port=$(free_port)
recommender_urls=("http://127.0.0.1:$recommender_port" "http://127.0.0.1:$nobody_port")
# --- 4. Prometheus, then Fleet (Prometheus first: it applies new targets only every 5 s) --
# prometheus.yml with 1 s intervals, the rule file by absolute path, no Alertmanager, and
# each job's inline `targets: [...]` replaced by the processes started below.
python3 - "$root/deploy/prometheus/prometheus.yml" "$dir/prometheus.yml" \
    "fleet-api=127.0.0.1:${api_admins[0]},127.0.0.1:${api_admins[1]}" \
    "fleet-worker=127.0.0.1:$worker_admin" \
    "fleet-recommender=127.0.0.1:$recommender_port" \
    "prometheus=127.0.0.1:$prometheus_port" <<'PY'
import os, re, sys
source, target, *jobs = sys.argv[1:]
targets = {name: value.split(",") for name, value in (job.split("=", 1) for job in jobs)}
base = os.path.dirname(os.path.abspath(source))
out, section, job, seen = [], None, None, set()
for line in open(source).read().splitlines():
    top = re.match(r"^([A-Za-z_]+):", line)
    if top:
        section = top.group(1)
    if section == "alerting":
        continue
    line = re.sub(r"^(\s*)(scrape_interval|evaluation_interval|scrape_timeout):.*$", r"\1\2: 1s", line)
    if section == "rule_files":
        line = re.sub(r"^(\s*-\s*)(\S+)\s*$", lambda m: m.group(1) + os.path.join(base, m.group(2)), line)
    name = re.search(r"job_name:\s*(\S+)", line)
    if name:
        job = name.group(1).strip("'\"")
    if re.match(r"^\s*-?\s*targets:", line):
        if job not in targets:
            sys.exit(f"prometheus.yml: job {job} is not one this check starts (expected {', '.join(targets)})")
        if not re.search(r"targets:\s*\[.*\]", line):
            sys.exit(f"prometheus.yml: keep job {job}'s targets an inline list, [\"host:port\", ...]")
        line = re.sub(r"\[.*\]", "[" + ", ".join(f'"{t}"' for t in targets[job]) + "]", line)
        seen.add(job)
    out.append(line)
if seen != set(targets):
    sys.exit(f"prometheus.yml: no targets for {', '.join(sorted(set(targets) - seen))}")
open(target, "w").write("\n".join(out) + "\n")
PY
promtool check config "$dir/prometheus.yml" >/dev/null || fail "the generated configuration is not valid: $dir/prometheus.yml"
prom="http://127.0.0.1:$prometheus_port"
log "starting Prometheus on $prom"
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" --storage.tsdb.retention.time=1h \
    --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn 2>"$dir/prometheus.log" &
pids+=($!); prometheus_pid=$!
wait_ready Prometheus "$prom/-/ready" "$dir/prometheus.log" "$prometheus_pid"
log "starting 2 API instances, a worker and a recommender from $bin"
"$bin" recommender --data-dir "$dir/recommender" --recommender-port "$recommender_port" --log-level warning \
    2>"$dir/recommender.log" &
pids+=($!); recommender_pid=$!
for index in 0 1; do
    "$bin" serve --data-dir "$dir/api$index" --http-port "${api_ports[$index]}" --http-admin-port "${api_admins[$index]}" \
        --auth-bcrypt-cost 4 --log-level warning --recommender-url "${recommender_urls[$index]}" 2>"$dir/api$index.log" &
    pids+=($!); api_pids[index]=$!
done
"$bin" worker --data-dir "$dir/worker" --http-admin-port "$worker_admin" --log-level warning 2>"$dir/worker.log" &
pids+=($!); worker_pid=$!
for index in 0 1; do
    wait_ready "API $index" "http://127.0.0.1:${api_ports[$index]}/health/ready" "$dir/api$index.log" "${api_pids[$index]}"
done
wait_ready worker "http://127.0.0.1:$worker_admin/health/ready" "$dir/worker.log" "$worker_pid"
wait_ready recommender "http://127.0.0.1:$recommender_port/health/ready" "$dir/recommender.log" "$recommender_pid"
log "fleet ready after $(elapsed) s"

expected_targets=5  # two APIs, the worker, the recommender, Prometheus itself
for attempt in $(seq 60); do
    up=$(curl -fs "$prom/api/v1/targets?state=active" | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
print(sum(t["health"] == "up" for t in targets), len(targets))') || up="0 0"
    read -r healthy total <<<"$up"
    [ "$healthy" = "$expected_targets" ] && [ "$total" = "$expected_targets" ] && { log "targets up: $healthy/$expected_targets"; break; }
    [ $((attempt % 4)) = 1 ] && log "targets up: $healthy/$expected_targets, waiting (at most 30 s)"
    [ "$attempt" = 60 ] && { curl -fs "$prom/api/v1/targets" >&2 || true; fail "not every target was up within 30 s"; }
    sleep 0.5
done

# --- 5. traffic --------------------------------------------------------------------------
log "traffic: fleet loadtest on each API (4 s), recommendations, a burst of failed sign-ins"
for index in 0 1; do
    "$bin" loadtest run --target "http://127.0.0.1:${api_ports[$index]}" --rate 40 --duration 4 --warmup 1 \
        --users 4 --setup-articles 8 --follows 2 --run-id "pc$index" --out "$dir/loadtest$index" \
        >"$dir/loadtest$index.log" 2>&1 &
    loadtests[index]=$!
done
for index in 0 1; do
    url="http://127.0.0.1:${api_ports[$index]}"
    body=$(curl -fs "$url/api/users" -H 'content-type: application/json' \
        -d "{\"user\":{\"username\":\"reader$index\",\"email\":\"reader$index@example.com\",\"password\":\"reader-password\"}}") \
        || fail "sign-up on API $index failed"
    token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["user"]["token"])' <<<"$body")
    for _ in $(seq 12); do
        curl -s -o /dev/null "$url/api/articles/recommended?limit=5" -H "authorization: Token $token"
    done
done
for index in 0 1; do
    wait "${loadtests[$index]}" || { tail -20 "$dir/loadtest$index.log" >&2; fail "fleet loadtest on API $index failed"; }
done
# Past the auth limit (20 a minute per address): 429s, after the load tests' sign-ins.
for _ in $(seq 30); do
    curl -s -o /dev/null "http://127.0.0.1:${api_ports[1]}/api/users/login" -H 'content-type: application/json' \
        -d '{"user":{"email":"nobody@example.com","password":"wrong-password"}}'
done
sleep 2.5  # two more scrapes and rule evaluations after the last request

# --- 6. queries --------------------------------------------------------------------------
log "evaluating the dashboard's queries and the rules' expressions"
python3 - "$prom" "$dashboard" "$rule_count" <<'PY'
import json, re, sys, time, urllib.parse, urllib.request

prom, dashboard_path, rule_count = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Panels whose every query must return something: the request rate, the latency
# percentiles and targets up. Renaming one of these panels fails the check on purpose.
core = ["Request rate", "p99 latency", "Targets up", "Requests per second by route",
        "Latency p50 / p95 / p99 (all /api/ routes)", "Targets"]
# Metric names the processes this check starts cannot export (yet), and why.
optional = {
    "db_replica_lag": "PostgreSQL replicas only",
    "db_node_primary": "PostgreSQL replicas only",
    "db_client_reads_total": "PostgreSQL replicas only",
    "fleet_retries": "PostgreSQL only",
    "redis_client_connections": "Redis only",
    "redis_client_failures": "Redis only",
    "ratelimit_fallback_total": "Redis only",
    "cache_invalidation_propagation_duration_seconds_bucket": "Redis only",
    "http_server_connection_timeouts": "created at the first connection closed for a deadline",
    "messaging_client_consumed_messages": "created when a worker finishes its first job",
    "messaging_process_duration_seconds_bucket": "created when a worker finishes its first job",
    "fleet_jobs_start_delay_bucket": "created when a worker starts its first job",
}

def get(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)

def query(expr):
    answer = get("/api/v1/query", query=expr)
    if answer.get("status") != "success":
        return None, answer.get("error", "unknown error")
    return answer["data"]["result"], None

dashboard = json.load(open(dashboard_path))
variables = {"__rate_interval": "30s", "__interval": "5s", "__range": "5m", "__range_s": "300", "__interval_ms": "5000"}
for variable in dashboard.get("templating", {}).get("list", []):
    if variable.get("type") == "query":
        variables[variable["name"]] = variable.get("allValue") or ".*"
    elif variable.get("type") == "datasource":
        variables[variable["name"]] = "prometheus"

def substitute(expr, where):
    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise SystemExit(f"prometheus-check: FAILED: {where}: unknown Grafana variable ${name}")
        return variables[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)

def all_panels(panels):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))

failures, names, evaluated = [], set(), 0
titles = set()
for panel in all_panels(dashboard["panels"]):
    if panel.get("type") == "row":
        continue
    title = panel.get("title", "?")
    titles.add(title)
    for target in panel.get("targets", []):
        expr = substitute(target["expr"], f"panel {title!r}")
        names.add(expr)
        result, error = query(expr)
        evaluated += 1
        if error:
            failures.append(f"panel {title!r} {target.get('refId')}: {error}\n    {expr}")
        elif title in core and not any(0 < float(sample["value"][1]) < float("inf") for sample in result):
            failures.append(f"core panel {title!r} {target.get('refId')} returned no positive value\n    {expr}")
        status = "ERROR" if error else f"{len(result):3d} series"
        print(f"  {status:>10}  {title} [{target.get('refId')}]")
for title in core:
    if title not in titles:
        failures.append(f"core panel {title!r} is not in the dashboard")

# The rules as Prometheus loaded them: each expression once, and each rule's own health.
rules = [rule for group in get("/api/v1/rules")["data"]["groups"] for rule in group["rules"]]
if len(rules) != rule_count:
    failures.append(f"Prometheus loaded {len(rules)} rules, alerts.yml has {rule_count}")
for rule in rules:
    result, error = query(rule["query"])
    evaluated += 1
    label = f"{rule['type']} {rule['name']}"
    if error:
        failures.append(f"{label}: {error}")
    if rule.get("health") not in ("ok", "unknown") or rule.get("lastError"):
        failures.append(f"{label}: health {rule.get('health')}: {rule.get('lastError')}")
    state = f" ({rule['state']})" if rule["type"] == "alerting" else ""
    print(f"  {'ERROR' if error else f'{len(result):3d} series':>10}  {label}{state}")
    names.add(rule["query"])

# Every metric name used must exist, apart from the optional ones.
keywords = {"sum", "by", "without", "rate", "increase", "irate", "delta", "max", "min", "avg", "count", "and", "or",
            "unless", "on", "ignoring", "group_left", "group_right", "offset", "bool", "histogram_quantile", "vector",
            "max_over_time", "avg_over_time", "min_over_time", "round", "le", "inf", "nan", "e"}
used = set()
for expr in names:
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    stripped = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", stripped)
    stripped = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", stripped)
    stripped = re.sub(r"\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:ms|[smhdwy])?\b", " ", stripped)
    for token in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", stripped):
        if token.lower() not in keywords and ":" not in token:
            used.add(token)
# What the Fleet processes export (Prometheus's own process_* metrics do not count).
result, error = query('count by (__name__) ({job=~"fleet-.*"})')
if error:
    raise SystemExit(f"prometheus-check: FAILED: listing Fleet's metric names: {error}")
exported = {sample["metric"]["__name__"] for sample in result}
for name in sorted(used - exported):
    if name in optional:
        print(f"  {'absent':>10}  {name}: {optional[name]}")
    else:
        failures.append(f"metric {name} is used but no process exports it")
for name in sorted((used & exported) & set(optional)):
    print(f"  {'present':>10}  {name} (optional here)")

if failures:
    print("prometheus-check: FAILED:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"prometheus-check: {evaluated} queries evaluated, {len(used)} metric names checked, no errors")
PY
log "ok in $(elapsed) s"
