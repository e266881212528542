#!/usr/bin/env bash
# The ops page in a real browser (issue 12 §3):
#
#   scripts/ops-check.sh [--bin PATH] [--screenshot FILE] [--keep]
#
# Starts the real binary (`fleet serve` on a fresh SQLite folder, with an ops admin token),
# sends some Conduit traffic (sign-ups, articles, reads, a few 404s) in bursts over about
# ten seconds, and puts a dead job in the jobs table. Then headless Chromium (Debian's
# `chromium`, installed if missing) loads http://127.0.0.1:ADMIN/ops, runs its script
# until the data is drawn, and dumps the DOM; the DOM's figures (each marked with
# data-k / data-v inside a row named by data-route, data-queue, ...) are compared with
# what `/ops/data` answers: instance, every route's request count, queues, dead jobs,
# breakers, shard nodes, pools, cache counts, Redis and the limiter. It then retries the
# dead job through the token-guarded route (403 without the token, 204 with it) and
# checks that the page no longer lists it. Writes a screenshot (default docs/ops.png,
# 1400x1000). Exits 1 on any mismatch. Takes about 40 s after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.build/debug/fleet" screenshot="$root/docs/ops.png" keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --screenshot) screenshot=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--screenshot FILE] [--keep]" >&2; exit 2 ;;
    esac
done
started=$(date +%s)
step() { printf '\n== %s\n' "$*"; }

source "$root/scripts/need.sh"
need chromium python3 curl
[ -x "$bin" ] || { echo "no binary at $bin (swift build first)" >&2; exit 2; }

dir=$(mktemp -d)
pid=""
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
    [ -n "$keep" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
source "$root/scripts/free-port.sh"
port=$(free_port)
admin=$(free_port)
token="ops-check-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

step "fleet serve on :$port (admin :$admin)"
FLEET_OPS_ADMIN_TOKEN=$token FLEET_AUTH_BCRYPT_COST=4 FLEET_RATELIMIT_ENABLED=false FLEET_LOG_LEVEL=warning \
    "$bin" serve --data-dir "$dir/data" --http-port "$port" --http-admin-port "$admin" >"$dir/fleet.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/fleet.log" >&2; exit 1; }
    sleep 0.2
done
curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "fleet never became ready" >&2; cat "$dir/fleet.log" >&2; exit 1; }

step "traffic, in bursts (the sparklines sample every 5 s), and a dead job"
python3 - "$port" "$dir/data/fleet.sqlite" <<'EOF'
import json, sqlite3, sys, time, urllib.request, urllib.error
port, database = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token: request.add_header("Authorization", "Token " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response: return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error: return error.code, None
tokens, slugs = [], []
for i in range(3):
    status, body = call("POST", "/api/users", {"user": {"username": f"ops{i}", "email": f"ops{i}@example.com", "password": "password123"}})
    assert status == 201, status
    tokens.append(body["user"]["token"])
for i, token in enumerate(tokens):
    status, body = call("POST", "/api/articles", {"article": {"title": f"Ops page {i}", "description": "d", "body": "b", "tagList": ["ops", f"t{i}"]}}, token)
    assert status == 201, status
    slugs.append(body["article"]["slug"])
call("POST", "/api/profiles/ops1/follow", token=tokens[0])
for burst in range(3):
    for _ in range(20 * (burst + 1)): call("GET", "/api/articles?limit=5")
    for slug in slugs: call("GET", f"/api/articles/{slug}"); call("GET", f"/api/articles/{slug}/comments")
    for _ in range(10): call("GET", "/api/tags")
    call("GET", "/api/articles/feed", token=tokens[0])
    for _ in range(burst + 1): call("GET", "/api/articles/no-such-article-1x8k3m2q0w")
    time.sleep(4)
db = sqlite3.connect(database, timeout=10)
now = int(time.time() * 1_000_000)
db.execute("INSERT INTO jobs (queue, name, payload, state, run_at, attempt, max_attempts, last_error, created_at, finished_at) "
           "VALUES ('ops-check', 'explode', '{}', 'dead', ?, 5, 5, 'boom: the ops check made this job fail', ?, ?)", (now, now, now))
db.commit()
EOF
sleep 2

chrome() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/chrome" "$@" 2>>"$dir/chromium.log"; }
url="http://127.0.0.1:$admin/ops"
curl -fs "http://127.0.0.1:$admin/ops/data" >"$dir/before.json"
step "chromium loads $url"
chrome --virtual-time-budget=8000 --dump-dom "$url" >"$dir/dom.html"
curl -fs "http://127.0.0.1:$admin/ops/data" >"$dir/after.json"
mkdir -p "$(dirname "$screenshot")"
chrome --virtual-time-budget=8000 --window-size=1400,1000 --screenshot="$screenshot" "$url" >/dev/null
[ -s "$screenshot" ] || { echo "no screenshot written" >&2; exit 1; }

step "the page's figures against /ops/data"
python3 - "$dir/dom.html" "$dir/before.json" "$dir/after.json" <<'EOF'
import json, sys
from html.parser import HTMLParser
dom_path, before_path, after_path = sys.argv[1:4]

class Page(HTMLParser):
    """Collects body attributes and, for every element with data-k, its data-v under the
    nearest enclosing row's naming attributes."""
    ROW_KEYS = ("data-route", "data-queue", "data-breaker", "data-shard", "data-node", "data-pool", "data-cache", "data-layer",
                "data-instance", "data-job", "data-redis")
    VOID = {"meta", "input", "br", "img", "link", "hr"}
    def __init__(self):
        super().__init__()
        self.stack, self.body, self.fields = [], {}, {}
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body": self.body = attrs
        row = {k: v for k, v in attrs.items() if k in self.ROW_KEYS}
        context = dict(self.stack[-1][1]) if self.stack else {}
        context.update(row)
        if "data-k" in attrs and "data-v" in attrs:
            self.fields[(tuple(sorted(context.items())), attrs["data-k"])] = attrs["data-v"]
        if tag not in self.VOID: self.stack.append((tag, context))
    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag: break

page = Page()
page.feed(open(dom_path).read())
snapshots = [json.load(open(after_path)), json.load(open(before_path))]
failures, checked = [], 0

def expect(row, key, pick):
    """The page's value at (row, key) must equal the JSON's (after or before the dump)."""
    global checked
    checked += 1
    shown = page.fields.get((tuple(sorted(row.items())), key))
    wanted = []
    for data in snapshots:
        try: wanted.append(pick(data))
        except (KeyError, StopIteration, IndexError): wanted.append(None)
    def same(value):
        if value is None or shown is None: return False
        if isinstance(value, bool): return shown == ("true" if value else "false")
        if isinstance(value, (int, float)):
            try: return abs(float(shown) - float(value)) <= 1e-6 * max(1.0, abs(float(value)))
            except ValueError: return False
        return shown == str(value)
    if not any(same(value) for value in wanted):
        failures.append(f"{row or 'page'} {key}: page shows {shown!r}, /ops/data says {wanted[0]!r}")

data = snapshots[0]
if page.body.get("data-state") != "ready": failures.append(f"the page never drew its data (state {page.body.get('data-state')!r})")
expect({}, "instance.id", lambda d: d["instance"]["id"])
expect({}, "traffic.totalRequests", lambda d: d["traffic"]["totalRequests"])
expect({}, "limiter.inFlight", lambda d: d["limiter"]["inFlight"])
find = lambda items, **match: next(i for i in items if all(i[k] == v for k, v in match.items()))
for route in data["routes"]:
    name = route["route"]
    for key in ("totalRequests", "clientErrors"):
        expect({"data-route": name}, key, lambda d, n=name, k=key: find(d["routes"], route=n)[k])
for queue in data["queues"]:
    for key in ("depth", "running", "dead", "scheduled"):
        expect({"data-queue": queue["queue"]}, key, lambda d, q=queue["queue"], k=key: find(d["queues"], queue=q)[k])
for job in data["deadJobs"]:
    for key in ("queue", "name", "attempts"):
        expect({"data-job": job["id"]}, key, lambda d, j=job["id"], k=key: find(d["deadJobs"], id=j)[k])
for breaker in data["breakers"]:
    expect({"data-breaker": breaker["name"]}, "state", lambda d, b=breaker["name"]: find(d["breakers"], name=b)["state"])
for shard in data["shards"]:
    for node in shard["nodes"]:
        row = {"data-shard": str(shard["shard"]), "data-node": node["address"]}
        for key in ("role", "health", "breaker"):
            expect(row, key, lambda d, s=shard["shard"], a=node["address"], k=key: find(find(d["shards"], shard=s)["nodes"], address=a)[k])
for pool in data["pools"]:
    for key in ("max", "open"):
        expect({"data-pool": str(pool["shard"])}, key, lambda d, s=pool["shard"], k=key: find(d["pools"], shard=s)[k])
for cache in data["caches"]:
    row = {"data-cache": cache["cache"], "data-layer": cache["layer"]}
    for key in ("hits", "misses"):
        expect(row, key, lambda d, c=cache["cache"], l=cache["layer"], k=key: find(d["caches"], cache=c, layer=l)[k])
expect({"data-redis": "configured"}, "configured", lambda d: d["redis"]["configured"])
for instance in data["instances"]:
    expect({"data-instance": instance["id"]}, "role", lambda d, i=instance["id"]: find(d["instances"], id=i)["role"])

# What the check needs to have been there at all.
if not any(r["route"] == "GET /api/articles" and r["totalRequests"] >= 120 for r in data["routes"]): failures.append("no GET /api/articles traffic in /ops/data")
if not any(j["queue"] == "ops-check" for j in data["deadJobs"]): failures.append("the dead job is not in /ops/data")
if len(data["history"]) < 2: failures.append(f"only {len(data['history'])} history samples (sparklines need 2)")
if not data["actionsEnabled"]: failures.append("actions are off although ops.admin.token is set")
print(f"{checked} figures compared; routes {len(data['routes'])}, requests {data['traffic']['totalRequests']}, "
      f"p99 {data['traffic']['p99']:.1f} ms, queues {len(data['queues'])}, dead jobs {len(data['deadJobs'])}, "
      f"breakers {len(data['breakers'])}, history samples {len(data['history'])}")
for failure in failures: print("MISMATCH:", failure)
sys.exit(1 if failures else 0)
EOF

step "retry the dead job: refused without the token, done with it"
job=$(python3 -c 'import json,sys; print(next(j["id"] for j in json.load(open(sys.argv[1]))["deadJobs"] if j["queue"] == "ops-check"))' "$dir/after.json")
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$admin/ops/jobs/$job/retry")
[ "$status" = 403 ] || { echo "retry without the token: $status, expected 403" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Ops-Token: $token" "http://127.0.0.1:$admin/ops/jobs/$job/retry")
[ "$status" = 204 ] || { echo "retry with the token: $status, expected 204" >&2; exit 1; }
chrome --virtual-time-budget=5000 --dump-dom "$url" >"$dir/dom-after-retry.html"
if grep -q "data-job=\"$job\"" "$dir/dom-after-retry.html"; then echo "the page still lists job $job as dead" >&2; exit 1; fi
if grep -qi "$token" "$dir/fleet.log"; then echo "the admin token appears in the log" >&2; exit 1; fi

echo
echo "ops check passed in $(($(date +%s) - started)) s; screenshot: $screenshot"
