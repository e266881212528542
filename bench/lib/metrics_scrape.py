"""Fleet's /metrics scrapes (Prometheus text format), shared by the bench summarizers.

bench/run.sh and bench/cache.sh save the server's /metrics right before and right after a
measured wrk run; the difference of the two is what the server did during that run.
Imported by bench/lib/summarize.py and bench/lib/cache_summary.py (both run as scripts, so
this folder is first on sys.path).
"""

import re

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(path):
    """Prometheus text format -> {(name, ((label, value), ...)): number}; {} when the file is missing."""
    samples = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            match = SAMPLE.match(line)
            if match and not line.startswith("#"):
                name, labels, value = match.groups()
                try:
                    samples[(name, tuple(sorted(LABEL.findall(labels or ""))))] = float(value)
                except ValueError:
                    pass
    return samples


def deltas(before, after):
    """after - before per sample (a sample missing from `before` counts from 0)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def has_metric(samples, name):
    """Whether any sample of that name is present (whatever its labels)."""
    return any(key[0] == name for key in samples)


def total(samples, name, where=None):
    """Sum of the samples named `name` whose labels (as a dict) satisfy `where` (all when None)."""
    return sum(value for (sample_name, labels), value in samples.items()
               if sample_name == name and (where is None or where(dict(labels))))
