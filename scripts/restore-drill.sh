#!/usr/bin/env bash
# Restore drill: take a backup the way docs/operations.md says, restore it somewhere
# scratch, and prove the restored copy is usable: its hash chain verifies, its read tables
# rebuild from the log, and its schedule matches the original's. Prints OK, or fails
# non-zero with one line saying which step failed. The original is only read (though a
# `schedule` on it brings stale read tables up to date, as any reader command would).
#
# Usage:
#   scripts/restore-drill.sh [--sqlite] PATH/consultations.db [--postgresql URL]
#   scripts/restore-drill.sh --postgresql postgresql://user@host:5432/consultations
#
# SQLite: backed up with the SQLite online backup API (Python's sqlite3 Connection.backup,
# safe while daemons write in WAL mode), checked with PRAGMA integrity_check, and restored
# by copying the backup file into a scratch folder.
# PostgreSQL: `pg_dump -Fc`, then `pg_restore` into a new scratch database on the same
# server (the URL's user needs CREATEDB), dropped again at the end.
#
# Environment:
#   CONSULTATIONS  the command to run (default: `consultations` on PATH, else
#                  `$PYTHON -m consultations`); may hold several words
#   PYTHON         the Python for the SQLite backup (default: python3)
#   PG_BINDIR      where pg_dump, pg_restore, createdb and dropdb live (default: PATH, then
#                  the newest /usr/lib/postgresql/*/bin)
#   KEEP_SCRATCH   set to 1 to keep the scratch folder (and database) for inspection
#
# The schedule comparison assumes nothing is written between the backup and the
# comparison; drill against a quiet database (or a copy of it).

set -euo pipefail

PYTHON=${PYTHON:-python3}

usage() {
    echo "usage: $0 [--sqlite] PATH/consultations.db [--postgresql URL]" >&2
    echo "       $0 --postgresql postgresql://user@host:5432/consultations" >&2
    exit 2
}

fail() {
    echo "restore drill FAILED: $*" >&2
    exit "${FAIL_CODE:-1}"
}

sqlite_path=""
postgresql_url=""
while (($#)); do
    case "$1" in
    --sqlite) sqlite_path=${2:?--sqlite needs a path}; shift 2 ;;
    --postgresql) postgresql_url=${2:?--postgresql needs a URL}; shift 2 ;;
    -h | --help) usage ;;
    postgres://* | postgresql://* | postgresql+*://*) postgresql_url=$1; shift ;;
    -*) echo "error: unknown option $1" >&2; usage ;;
    *) sqlite_path=$1; shift ;;
    esac
done
[[ -n $sqlite_path || -n $postgresql_url ]] || usage

if [[ -n ${CONSULTATIONS:-} ]]; then
    read -r -a consultations <<<"$CONSULTATIONS"
elif command -v consultations >/dev/null; then
    consultations=(consultations)
else
    consultations=("$PYTHON" -m consultations)
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/restore-drill.XXXXXX")
cleanups=()
cleanup() {
    local i
    for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
        eval "${cleanups[i]}" || true
    done
    if [[ ${KEEP_SCRATCH:-0} == 1 ]]; then
        echo "scratch kept in $scratch" >&2
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT

# Run one step quietly; on failure show its output and fail with its exit code.
step() {
    local what=$1 log="$scratch/step.log" code=0
    shift
    "$@" >"$log" 2>&1 || code=$?
    if ((code != 0)); then
        sed 's/^/  | /' "$log" >&2
        FAIL_CODE=$code fail "$what (exit $code)"
    fi
}

cli() {
    local url=$1
    shift
    "${consultations[@]}" --database-url "$url" "$@"
}

cli_to() {
    local out=$1
    shift
    cli "$@" >"$out"
}

# The checks every restored copy must pass, against the original it came from.
check_restored() {
    local label=$1 original=$2 restored=$3 verified
    verified=$(cli "$restored" events verify 2>"$scratch/verify.err") || {
        local code=$?
        sed 's/^/  | /' "$scratch/verify.err" >&2
        FAIL_CODE=$code fail "$label: events verify on the restored copy (exit $code)"
    }
    step "$label: projections rebuild on the restored copy" cli "$restored" projections rebuild
    step "$label: schedule of the original" \
        cli_to "$scratch/original.json" "$original" schedule --all --format json
    step "$label: schedule of the restored copy" \
        cli_to "$scratch/restored.json" "$restored" schedule --all --format json
    if ! cmp -s "$scratch/original.json" "$scratch/restored.json"; then
        diff -u "$scratch/original.json" "$scratch/restored.json" | head -40 >&2 || true
        fail "$label: the restored schedule differs from the original"
    fi
    echo "OK: $label: restored copy verified (${verified#ok: }), read tables rebuilt," \
        "schedule identical"
}

drill_sqlite() {
    local source backup="$scratch/sqlite-backup.db" restored="$scratch/restored/consultations.db"
    [[ -f $sqlite_path ]] || fail "sqlite: no database file at $sqlite_path"
    source=$(cd "$(dirname "$sqlite_path")" && pwd)/$(basename "$sqlite_path")
    # Backup: the online backup API copies a consistent snapshot, WAL included.
    step "sqlite: backup of $source" "$PYTHON" -c '
import sqlite3, sys
source = sqlite3.connect(sys.argv[1])
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
(result,) = target.execute("PRAGMA integrity_check").fetchone()
target.close()
source.close()
if result != "ok":
    sys.exit(f"integrity_check: {result}")
' "$source" "$backup"
    # Restore: the backup file, copied into place.
    mkdir -p "$(dirname "$restored")"
    cp "$backup" "$restored"
    check_restored sqlite "sqlite:///$source" "sqlite:///$restored"
}

pg_tool() {
    local name=$1 found
    if [[ -n ${PG_BINDIR:-} ]]; then
        echo "$PG_BINDIR/$name"
    elif found=$(command -v "$name"); then
        echo "$found"
    else
        found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1) || true
        [[ -n $found ]] || fail "postgresql: $name not found on PATH nor under /usr/lib/postgresql"
        echo "$found"
    fi
}

drill_postgresql() {
    local url base query="" database scratch_db restored dump="$scratch/postgresql.dump"
    local pg_dump pg_restore createdb dropdb
    pg_dump=$(pg_tool pg_dump)
    pg_restore=$(pg_tool pg_restore)
    createdb=$(pg_tool createdb)
    dropdb=$(pg_tool dropdb)
    # libpq wants postgresql://…, without SQLAlchemy's +driver.
    url=$(sed -E 's#^postgres(ql)?(\+[A-Za-z0-9_]+)?://#postgresql://#' <<<"$postgresql_url")
    base=${url%%\?*}
    [[ $url == *\?* ]] && query="?${url#*\?}"
    database=${base##*/}
    [[ $base == postgresql://*/* && -n $database ]] || fail "postgresql: the URL names no database"
    scratch_db="${database}_drill_$(date +%Y%m%d%H%M%S)_$$"
    restored="${base%/*}/$scratch_db$query"

    step "postgresql: pg_dump -Fc of $database" "$pg_dump" -Fc --file "$dump" --dbname "$url"
    step "postgresql: createdb $scratch_db" "$createdb" --maintenance-db "$url" "$scratch_db"
    if [[ ${KEEP_SCRATCH:-0} != 1 ]]; then
        cleanups+=("$(printf '%q ' "$dropdb" --if-exists --maintenance-db "$url" "$scratch_db")")
    fi
    step "postgresql: pg_restore into $scratch_db" \
        "$pg_restore" --no-owner --exit-on-error --dbname "$restored" "$dump"
    check_restored postgresql "$url" "$restored"
}

[[ -z $sqlite_path ]] || drill_sqlite
[[ -z $postgresql_url ]] || drill_postgresql
echo "restore drill OK"
