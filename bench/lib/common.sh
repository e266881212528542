# Shared by the bench scripts (sourced, after BENCH_DIR is set): messages and checks.
# shellcheck shell=bash

RESULTS_DIR="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
SEED_DIR="$RESULTS_DIR/data"   # the pristine data set bench/run.sh seeds; runs work on copies

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Prints the calling script's header comment (from line 2 to `set -euo`) as its help.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

need_wrk() { command -v wrk >/dev/null || die "wrk is not installed (apt-get install -y wrk)"; }
need_seed() { [[ -d $SEED_DIR ]] || die "no data set in $SEED_DIR: run bench/run.sh once (it seeds one)"; }
