#!/usr/bin/env bash
# Traces and JSON logs, end to end, from real processes (the operations issue):
#
#   scripts/tracing-check.sh [--bin PATH] [--keep]   # PATH: a fleet built with `--traits OTLP`
#
# Starts a real OTLP/HTTP receiver (scripts/otlp-receiver.py: Python and
# opentelemetry-proto from PyPI), `fleet recommender` and `fleet serve` on one SQLite
# file with tracing at 100 %, JSON logs and the access log. Then, as a browser would
# (an Origin header) and with a `traceparent` of its own, it favorites an article and asks
# for recommendations, and checks:
#   - the favorite's trace continues the caller's: HTTP server span (child of the given
#     parent) → cache lookup → database statement under it; the job it enqueued has a
#     producer span in the trace, and the worker's consumer span is in the same trace and
#     linked to it;
#   - the recommendations call carries `traceparent` out: the recommender's server span
#     (another process) is the child of the API's client span;
#   - every log line is one JSON object, and the request's access log line has its
#     request id, trace id and span id.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.build/debug/fleet" keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--keep]" >&2; exit 2 ;;
    esac
done
started=$(date +%s)

venv="${XDG_CACHE_HOME:-$HOME/.cache}/fleet/test-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import opentelemetry.proto' 2>/dev/null; then
    echo "installing opentelemetry-proto (PyPI) into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check opentelemetry-proto
fi

source "$root/scripts/free-port.sh"
dir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$keep" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

otlp=$(free_port) api=$(free_port) api_admin=$(free_port) rec=$(free_port)
"$venv/bin/python" "$root/scripts/otlp-receiver.py" "$otlp" "$dir/spans.jsonl" &
pids+=($!)
common=(--data-dir "$dir/data" --auth-bcrypt-cost 4 --ratelimit-enabled false --tracing-enabled true --tracing-sample-ratio 1
    --tracing-otlp-endpoint "http://127.0.0.1:$otlp" --log-format json --log-level info)
# The recommender has a database of its own (two processes do not share one SQLite file);
# its empty model is fine: what is checked is that its span continues the API's trace.
"$bin" recommender "${common[@]/$dir\/data/$dir/recommender-data}" --http-admin-port 0 --recommender-port "$rec" 2>"$dir/recommender.log" &
pids+=($!)
"$bin" serve "${common[@]}" --http-port "$api" --http-admin-port "$api_admin" --log-access true \
    --recommender-url "http://127.0.0.1:$rec" 2>"$dir/api.log" &
pids+=($!)
for port in "$api" "$rec"; do
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "FAIL: port $port not ready"; for log in "$dir"/*.log; do echo "== $log"; tail -n 5 "$log"; done; exit 1; }
done
echo "receiver :$otlp, api :$api, recommender :$rec (spans in $dir/spans.jsonl)"

"$venv/bin/python" - "$api" "$dir" <<'PY'
import json, os, secrets, sys, time, urllib.request

api, dir = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{api}/api"


def call(method, path, body=None, token=None, traceparent=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Origin", "http://localhost:3000")
    if body: request.add_header("Content-Type", "application/json")
    if token: request.add_header("Authorization", f"Token {token}")
    if traceparent: request.add_header("traceparent", traceparent)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response), response.headers


suffix = secrets.token_hex(4)
author = call("POST", "/users", {"user": {"username": f"author{suffix}", "email": f"a{suffix}@example.com", "password": "password123"}})[0]["user"]
reader = call("POST", "/users", {"user": {"username": f"reader{suffix}", "email": f"r{suffix}@example.com", "password": "password123"}})[0]["user"]
slug = call("POST", "/articles", {"article": {"title": f"Traced {secrets.token_hex(3)}", "description": "d", "body": "b"}}, token=author["token"])[0]["article"]["slug"]

trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
_, headers = call("POST", f"/articles/{slug}/favorite", token=reader["token"], traceparent=f"00-{trace_id}-{parent_id}-01")
request_id = headers["X-Request-ID"]
rec_trace = secrets.token_hex(16)
call("GET", "/articles/recommended", token=reader["token"], traceparent=f"00-{rec_trace}-{secrets.token_hex(8)}-01")

problems = []
def check(condition, message):
    if not condition: problems.append(message)

# Spans are exported in batches: wait (bounded) until the trace is complete.
deadline, spans = time.time() + 20, []
def complete(spans):
    names = [s["name"] for s in spans if s["trace_id"] == trace_id]
    rec = [s for s in spans if s["trace_id"] == rec_trace and s["service"] == "fleet-recommender"]
    return any(n.endswith(" process") for n in names) and rec
while time.time() < deadline:
    try:
        spans = [json.loads(line) for line in open(f"{dir}/spans.jsonl")]
    except FileNotFoundError:
        spans = []
    if complete(spans): break
    time.sleep(0.25)
trace = [s for s in spans if s["trace_id"] == trace_id]
by_id = {s["span_id"]: s for s in trace}
def ancestors(span):
    while span and span["parent_span_id"] in by_id:
        span = by_id[span["parent_span_id"]]
        yield span

print(f"{len(spans)} spans received; the favorite's trace has {len(trace)}:")
for s in sorted(trace, key=lambda s: s["start"]):
    depth = len(list(ancestors(s)))
    print(f"  {'  ' * depth}{s['name']} [{s['service']}]" + (f" links={len(s['links'])}" if s["links"] else ""))

servers = [s for s in trace if s["kind"] == 2 and s["service"] == "fleet-api"]  # SPAN_KIND_SERVER
check(len(servers) == 1, f"one HTTP server span expected, found {len(servers)}")
if servers:
    server = servers[0]
    check(server["parent_span_id"] == parent_id, "the server span does not continue the caller's traceparent")
    check(server["attributes"].get("http.route") == "/api/articles/{slug}/favorite", f"http.route is {server['attributes'].get('http.route')}")
    check(server["attributes"].get("http.response.status_code") == 200, "status code not recorded")
caches = [s for s in trace if s["name"].startswith("cache.get")]
check(caches, "no cache lookup span")
check(any(servers and servers[0] in list(ancestors(c)) for c in caches), "the cache span is not under the HTTP span")
statements = [s for s in trace if s["attributes"].get("db.system") == "sqlite"]
check(statements, "no database statement span")
check(any(any(a["name"].startswith("cache.get") for a in ancestors(s)) for s in statements), "no database statement under a cache lookup")
# Statements are recorded with their placeholders: no value (here, the user names) leaks.
check(not any(f"reader{suffix}" in json.dumps(s["attributes"]) for s in spans), "a span's attributes hold a bound value")
producers = [s for s in trace if s["kind"] == 4 and s["name"] == "recommend.favorite publish"]  # PRODUCER
consumers = [s for s in trace if s["kind"] == 5 and s["name"] == "recommend.favorite process"]  # CONSUMER
check(producers, "no producer span for the recommend.favorite job")
check(consumers, "no consumer span for the recommend.favorite job in the request's trace")
if producers and consumers:
    check(any({"trace_id": trace_id, "span_id": producers[0]["span_id"]} in c["links"] for c in consumers), "the consumer span is not linked to the producer span")
    check(any(c["parent_span_id"] == producers[0]["span_id"] for c in consumers), "the consumer span is not the producer's child")

rec = [s for s in spans if s["trace_id"] == rec_trace]
# The API's span for the call, and under it async-http-client's, whose traceparent the
# recommender's server span continues.
calls = [s for s in rec if s["service"] == "fleet-api" and s["name"] == "GET /recommendations"]
clients = {s["span_id"]: s for s in rec if s["service"] == "fleet-api" and s["kind"] == 3}  # CLIENT
remote = [s for s in rec if s["service"] == "fleet-recommender" and s["kind"] == 2]
check(calls and remote, f"recommendations trace incomplete: {[(s['service'], s['name']) for s in rec]}")
if calls and remote:
    parent = clients.get(remote[0]["parent_span_id"])
    check(parent is not None and (parent is calls[0] or parent["parent_span_id"] == calls[0]["span_id"]),
          "the recommender's span is not under the API's call (traceparent not sent)")
    print(f"recommendations: API span {calls[0]['span_id']} -> client span {remote[0]['parent_span_id']} -> recommender server span {remote[0]['span_id']} ({remote[0]['name']})")

# Logs: every line one JSON object; the request's access line has its ids.
lines = [line for line in open(f"{dir}/api.log") if line.strip()]
parsed = []
for line in lines:
    try: parsed.append(json.loads(line))
    except ValueError: problems.append(f"a log line is not JSON: {line[:120]!r}")
mine = [p for p in parsed if p.get("request_id") == request_id]
check(mine, f"no log line with request id {request_id}")
check(any(p.get("trace_id") == trace_id and p.get("span_id") for p in mine), f"the request's log lines lack its trace id: {mine[:2]}")
print(f"logs: {len(parsed)} JSON lines, {len(mine)} for request {request_id}, e.g. {json.dumps(mine[0]) if mine else None}")

if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("ok: HTTP -> cache -> database in the caller's trace, the job's run linked to its enqueue, traceparent sent to the recommender, JSON logs with trace ids")
PY
echo "tracing check took $(( $(date +%s) - started )) s"
