#!/usr/bin/env python3
"""Writes a file of anonymous GET request paths with Zipf-skewed popularity, for bench/cache.sh.

Slugs, usernames and tags come straight from the database (never over HTTP, which would warm
the cache under test): SQLite through Python's sqlite3 module, PostgreSQL through psql.
Popularity is Zipf with exponent s over a ranking: articles newest first (so the hot set is the
recent articles), users by id, tags by article count, list pages by page number.

Usage: zipf_paths.py (--sqlite FILE | --database-url URL) --out FILE [--count 200000]
                     [--zipf 1.1] [--seed 42]
Prints key<TAB>value lines describing the file (for meta.tsv).
"""

import argparse
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote

# The request mix: kind, share in percent, path template. {} takes the Zipf-chosen item.
MIX = [
    ("article", 60, "/api/articles/{}"),
    ("profile", 15, "/api/profiles/{}"),
    ("tag", 10, "/api/articles?tag={}&limit=20"),
    ("page", 10, "/api/articles?limit=20&offset={}"),
    ("tags", 5, "/api/tags"),
]
PAGES = 50  # list pages 0..49, offset = 20 * page

# The ranking of each kind's items, most popular first.
QUERIES = {
    "article": "SELECT slug FROM articles ORDER BY id DESC",
    "profile": "SELECT username FROM users ORDER BY id",
    "tag": "SELECT name FROM tags ORDER BY articles_count DESC, name",
}


def fetch(args, sql):
    if args.database_url:
        try:
            out = subprocess.run(["psql", args.database_url, "-Atc", sql], check=True, capture_output=True, text=True).stdout
        except FileNotFoundError:
            sys.exit("zipf_paths.py: psql is not installed (apt-get install -y postgresql-client)")
        except subprocess.CalledProcessError as error:
            sys.exit(f"zipf_paths.py: psql failed on {sql!r}: {error.stderr.strip()}")
        return [line for line in out.splitlines() if line]
    # immutable=1 leaves the pristine data set alone (mode=ro would create -wal/-shm files next
    # to it); it is only right when no WAL holds unmerged pages, as after a clean `fleet seed`.
    if not Path(args.sqlite).is_file():
        sys.exit(f"zipf_paths.py: no SQLite database at {args.sqlite}")
    wal = Path(args.sqlite + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "immutable=1"
    db = sqlite3.connect(f"file:{quote(args.sqlite)}?{mode}", uri=True)
    try:
        return [row[0] for row in db.execute(sql)]
    except sqlite3.Error as error:
        sys.exit(f"zipf_paths.py: reading {args.sqlite} failed on {sql!r}: {error}")
    finally:
        db.close()


def zipf_sampler(rng, n, s):
    """Draws ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1) ** s."""
    cum = list(accumulate(1.0 / (k + 1) ** s for k in range(n)))
    return lambda count: rng.choices(range(n), cum_weights=cum, k=count)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sqlite", help="path of fleet.sqlite")
    source.add_argument("--database-url", help="PostgreSQL URL, read with psql")
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    items = {kind: fetch(args, sql) for kind, sql in QUERIES.items()}
    items["page"] = [str(20 * k) for k in range(PAGES)]
    items["tags"] = [""]
    for kind, values in items.items():
        if not values:
            sys.exit(f"zipf_paths.py: the database has no rows for '{kind}' ({QUERIES.get(kind)}); is it seeded?")

    rng = random.Random(args.seed)
    kinds = rng.choices([k for k, _, _ in MIX], weights=[w for _, w, _ in MIX], k=args.count)
    wanted = Counter(kinds)
    # One batch of Zipf draws per kind, handed out in the order the kinds were drawn.
    draws = {kind: iter(zipf_sampler(rng, len(items[kind]), args.zipf)(wanted[kind])) for kind, _, _ in MIX}
    templates = {kind: template for kind, _, template in MIX}
    distinct = {kind: set() for kind in templates}
    with open(args.out, "w") as out:
        for kind in kinds:
            rank = next(draws[kind])
            distinct[kind].add(rank)
            out.write(templates[kind].format(quote(items[kind][rank], safe="")) + "\n")

    print(f"paths\t{args.count}")
    print(f"zipf\t{args.zipf}")
    print(f"paths_seed\t{args.seed}")
    print("mix\t" + ", ".join(f"{share}% {template.format('{' + kind + '}')}" for kind, share, template in MIX))
    print("distinct\t" + ", ".join(f"{kind} {len(distinct[kind])}/{len(items[kind])}" for kind in templates))


if __name__ == "__main__":
    main()
