#!/usr/bin/env python3
"""Writes articles through the API without pause until told to stop, for failover checks.

Usage: write-load.py URL TOKEN STOPFILE OUT.json [--threads N]

Each thread creates an article, and when it is acknowledged (201) reads it back at once
with the same token (read-your-writes: another instance behind the load balancer, maybe
a replica, must have it). Runs until STOPFILE exists, then writes a summary to OUT.json:
every acknowledged slug, the failures with their times and statuses, the longest run
without a successful write (the outage as clients saw it), and read-your-writes misses
(a read-back that does not find the write; one refused with 503 while an instance has
not yet seen the new primary is counted apart: unavailable, not stale).
Times are seconds on the monotonic clock; `marks` in the summary are the times at
which files named STOPFILE.<name> appeared (the caller touches them: kill, promote).
"""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

url, token, stopfile, out = sys.argv[1:5]
threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 4
lock = threading.Lock()
acknowledged, failures, successes, misses, unavailable_reads = [], [], [], [], []


def call(method, path, body=None):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Authorization", "Token " + token)
    request.add_header("Origin", "http://localhost:3000")
    if body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, None
    except Exception as error:  # a refused or reset connection is a failure like any other
        return str(type(error).__name__), None


def writer(number):
    sequence = 0
    while not os.path.exists(stopfile):
        sequence += 1
        title = f"failover {number}-{sequence}-{time.monotonic_ns()}"
        started = time.monotonic()
        status, body = call("POST", "/api/articles", {"article": {"title": title, "description": "d", "body": "b", "tagList": []}})
        ended = time.monotonic()
        if status == 201:
            slug = body["article"]["slug"]
            read, _ = call("GET", f"/api/articles/{slug}")
            with lock:
                acknowledged.append(slug)
                successes.append(ended)
                if read == 503:
                    unavailable_reads.append(slug)  # refused during the switch: not stale
                elif read != 200:
                    misses.append({"slug": slug, "status": read})
        else:
            with lock:
                failures.append({"at": started, "wall": time.time() - (ended - started), "took": ended - started, "status": status})
            time.sleep(0.02)


start = time.monotonic()
workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
for worker in workers:
    worker.start()
marks = {}
while not os.path.exists(stopfile):
    for name in ("kill", "promote"):
        if name not in marks and os.path.exists(f"{stopfile}.{name}"):
            marks[name] = time.monotonic()
    time.sleep(0.01)
for worker in workers:
    worker.join()
successes.sort()
gaps = [b - a for a, b in zip([start] + successes, successes)]
resumed = None
if "promote" in marks:
    after = [t for t in successes if t >= marks["promote"]]
    resumed = (after[0] - marks["promote"]) if after else None
summary = {
    "acknowledged": acknowledged,
    "failures": failures,
    "longest_gap_s": max(gaps) if gaps else None,
    "resumed_after_promote_s": resumed,
    "first_success_after_kill_s": next((t - marks["kill"] for t in successes if "kill" in marks and t >= marks["kill"]), None),
    "slowest_failure_s": max((f["took"] for f in failures), default=0),
    "read_your_writes_misses": misses,
    "read_backs_refused": len(unavailable_reads),
    "seconds": time.monotonic() - start,
}
with open(out, "w") as handle:
    json.dump(summary, handle)
