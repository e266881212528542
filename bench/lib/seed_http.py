#!/usr/bin/env python3
"""Fallback seeder: fills a running Fleet server through its public API.

Only used by run.sh when `fleet seed` is missing or left the database empty. It mirrors
the seeder's conventions: users user1..userN, emails userN@seed.fleet, password
"password123"; articles spread round-robin over the users; every user follows the next
few users, so that each feed (user1's in particular) has articles.

Registration costs one bcrypt hash per user on the server, so this is slow at cost 12
(~0.25 s per user per core): keep N small. Standard library only.
"""

import argparse
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request

PASSWORD = "password123"
TAGS = ["swift", "sqlite", "http", "benchmark", "conduit", "fleet", "wrk", "nio", "json", "bcrypt"]


def call(base, method, path, body=None, token=None):
    """Makes one JSON request and returns the decoded reply; raises on a non-2xx status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Token " + token)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{method} {path} -> {err.code}: {err.read()[:300]!r}") from None
    return json.loads(raw) if raw else {}


def register(base, i):
    """Registers user i, or logs in when it already exists (makes the seeder re-runnable)."""
    name, email = f"user{i}", f"user{i}@seed.fleet"
    try:
        reply = call(base, "POST", "/api/users", {"user": {"username": name, "email": email, "password": PASSWORD}})
    except RuntimeError:
        reply = call(base, "POST", "/api/users/login", {"user": {"email": email, "password": PASSWORD}})
    return i, reply["user"]["token"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8089")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--follows", type=int, default=10, help="how many next users each user follows")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        tokens = {}
        for n, (i, token) in enumerate(pool.map(lambda i: register(base, i), range(1, args.users + 1)), 1):
            tokens[i] = token
            if n % 25 == 0 or n == args.users:
                print(f"  users: {n}/{args.users}", flush=True)

        def follow(pair):
            follower, followee = pair
            call(base, "POST", f"/api/profiles/user{followee}/follow", token=tokens[follower])

        pairs = [(u, (u + k - 1) % args.users + 1) for u in tokens for k in range(1, min(args.follows, args.users - 1) + 1)]
        list(pool.map(follow, pairs))
        print(f"  follows: {len(pairs)}", flush=True)

        def article(j):
            author = j % args.users + 1
            tags = [TAGS[j % len(TAGS)], TAGS[(j * 7 + 3) % len(TAGS)]]
            body = {"article": {
                "title": f"Seeded article {j}",
                "description": f"Article {j} by user{author}",
                "body": f"Body of seeded article {j}. " * 20,
                "tagList": sorted(set(tags)),
            }}
            call(base, "POST", "/api/articles", body, token=tokens[author])

        for n, _ in enumerate(pool.map(article, range(args.articles)), 1):
            if n % 500 == 0 or n == args.articles:
                print(f"  articles: {n}/{args.articles}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as err:
        print(f"seed_http: {err}", file=sys.stderr)
        sys.exit(1)
