#!/usr/bin/env bash
# Migrates a SQLite database into a Lightning store, then checks the result:
# row counts and checksums of the store, and a full comparison with the source.
#
# Stops at the first step that fails and exits with its code
# (1 failure, 2 bad usage, 3 the store differs from the source).
#
# The tools are taken from PATH; set SQLITE2LIGHTNING or LIGHTNING to use others,
# for example SQLITE2LIGHTNING=target/release/sqlite2lightning.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $(basename "$0") SOURCE.sqlite TARGET.ldb [MIGRATE-OPTION...]

  SOURCE.sqlite      the SQLite database to migrate
  TARGET.ldb         the Lightning store to create or resume
  MIGRATE-OPTION...  passed to 'sqlite2lightning migrate' (e.g. --fresh --parallel 4)

example: $(basename "$0") examples/shop.sqlite shop.ldb --fresh
USAGE
    exit 2
}

if [[ $# -lt 2 || $1 == -h || $1 == --help ]]; then
    usage
fi
source_db=$1
target=$2
shift 2
if [[ ! -f $source_db ]]; then
    echo "error: no such SQLite database: $source_db" >&2
    exit 2
fi

sqlite2lightning=${SQLITE2LIGHTNING:-sqlite2lightning}
lightning=${LIGHTNING:-lightning}

step() {
    echo "==> $*" >&2
    local code=0
    "$@" || code=$?
    if [[ $code -ne 0 ]]; then
        if [[ $code -eq 3 ]]; then
            echo "error: '$1 $2' found differences (exit code 3)" >&2
        else
            echo "error: '$1 $2' failed (exit code $code)" >&2
        fi
        exit "$code"
    fi
}

step "$sqlite2lightning" migrate --source "$source_db" --target "$target" "$@"
step "$lightning" count "$target"
step "$lightning" checksum "$target"
step "$sqlite2lightning" verify --source "$source_db" --target "$target"
echo "ok: $target holds exactly what $source_db holds" >&2
