#!/usr/bin/env bash
# Streams a SQLite database into a Lightning store through a pipe:
#
#   sqlite2lightning export --source FILE | lightning import TARGET.ldb
#
# The stream is line-delimited JSON (Singer SCHEMA / RECORD / STATE messages), so
# either end can be swapped for another tool that speaks it, or the stream saved
# to a file and imported later.
#
# The tools are taken from PATH; set SQLITE2LIGHTNING or LIGHTNING to use others.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $(basename "$0") SOURCE.sqlite TARGET.ldb

example: $(basename "$0") examples/shop.sqlite shop.ldb
USAGE
    exit 2
}

if [[ $# -ne 2 || $1 == -h || $1 == --help ]]; then
    usage
fi
source_db=$1
target=$2
if [[ ! -f $source_db ]]; then
    echo "error: no such SQLite database: $source_db" >&2
    exit 2
fi

sqlite2lightning=${SQLITE2LIGHTNING:-sqlite2lightning}
lightning=${LIGHTNING:-lightning}

set +e
# import writes each committed STATE on stdout, for Singer orchestrators: not needed here.
"$sqlite2lightning" export --source "$source_db" | "$lightning" import "$target" >/dev/null
status=("${PIPESTATUS[@]}")
set -e

if [[ ${status[0]} -ne 0 ]]; then
    echo "error: 'sqlite2lightning export' failed (exit code ${status[0]})" >&2
    exit "${status[0]}"
fi
if [[ ${status[1]} -ne 0 ]]; then
    echo "error: 'lightning import' failed (exit code ${status[1]})" >&2
    exit "${status[1]}"
fi
echo "ok: imported $source_db into $target" >&2
