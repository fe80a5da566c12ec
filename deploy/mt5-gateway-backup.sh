#!/usr/bin/env bash
# Backups of the MT5 gateway's database: SQLite through sqlite3's online backup (safe while the
# gateway runs), PostgreSQL through pg_dump.  mt5-gateway-backup.timer runs it daily; by hand:
#
#   mt5-gateway-backup.sh                 # new backup in $BACKUP_DIR, keep the newest $BACKUP_KEEP
#   mt5-gateway-backup.sh check FILE      # the restore drill: restore FILE into a scratch place
#                                         # and verify it (no change to the live database)
#   mt5-gateway-backup.sh restore FILE    # replace the live database (gateway stopped first)
#
# Environment: DATABASE_URL (if unset, its line in $ENV_FILE, /etc/mt5-gateway/gateway.env),
# BACKUP_DIR (/var/lib/mt5-gateway-backups), BACKUP_KEEP (14), PG_DUMP_OPTIONS
# (--schema=public).  Run it as the gateway's user (mt5gw), which owns the database.
# The encryption keys are NOT in these files: keep gateway.env safe separately (RUNBOOK.md).
set -euo pipefail
umask 077

BACKUP_DIR=${BACKUP_DIR:-/var/lib/mt5-gateway-backups}
BACKUP_KEEP=${BACKUP_KEEP:-14}
PG_DUMP_OPTIONS=${PG_DUMP_OPTIONS:---schema=public}

die() {
    echo "mt5-gateway-backup: $*" >&2
    exit 1
}

url=${DATABASE_URL:-}
ENV_FILE=${ENV_FILE:-/etc/mt5-gateway/gateway.env}
if [[ -z $url && -r $ENV_FILE ]]; then
    url=$(sed -n 's/^[[:space:]]*DATABASE_URL=//p' "$ENV_FILE" | tail -n 1)
    url=${url#[\"\']}
    url=${url%[\"\']}
fi
[[ -n $url ]] || die "DATABASE_URL is not set (nor in $ENV_FILE)"
[[ $BACKUP_KEEP =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a positive number"
[[ $BACKUP_DIR != *"'"* ]] || die "BACKUP_DIR must not contain a quote"

if [[ $url =~ ^sqlite(\+[a-z0-9]+)?:///([^?]+) ]]; then
    kind=sqlite
    db=${BASH_REMATCH[2]}
    [[ $db != *"'"* ]] || die "the database path must not contain a quote"
elif [[ $url =~ ^postgres(ql)?(\+[a-z0-9]+)?://(([^:@/]*)(:([^@/]*))?@)?([^?]*)(\?(.*))?$ ]]; then
    kind=postgresql
    # libpq takes the URL without the SQLAlchemy driver; the password goes by environment
    # (never on a command line, where `ps` shows it), percent-decoded.
    pg_url="postgresql://${BASH_REMATCH[4]:+${BASH_REMATCH[4]}@}${BASH_REMATCH[7]}"
    password=${BASH_REMATCH[6]}
    export PGPASSWORD
    PGPASSWORD=$(printf '%b' "${password//%/\\x}")
    # asyncpg's ssl=MODE is libpq's sslmode.
    if [[ ${BASH_REMATCH[9]} =~ (^|&)ssl(mode)?=([a-z-]+) ]]; then
        export PGSSLMODE=${BASH_REMATCH[3]}
    fi
else
    die "DATABASE_URL is neither sqlite:/// nor postgresql://"
fi

SCRATCH=$(mktemp -d)
partial="" # a backup being written: removed if the script stops before it is complete
trap 'rm -rf "$SCRATCH" ${partial:+"$partial"} ${partial:+"$partial.gz"}' EXIT

# Prints the one line that sqlite3 answers to a query, or fails.
sqlite_value() {
    sqlite3 -bail -batch "$1" "$2"
}

# Verifies an SQLite backup file (gzip) by restoring it into a scratch directory.
check_sqlite() {
    local file=$1 copy=$SCRATCH/restored.db result revision
    rm -f "$copy"
    gzip -dc "$file" >"$copy"
    result=$(sqlite_value "$copy" "PRAGMA integrity_check")
    [[ $result == ok ]] || die "$file: integrity check failed: $result"
    revision=$(sqlite_value "$copy" "SELECT version_num FROM alembic_version")
    echo "ok: $file restores, integrity ok, schema revision $revision," \
        "$(sqlite_value "$copy" "SELECT count(*) FROM mt5_accounts") MT5 accounts"
}

check_postgresql() {
    local file=$1 tables
    tables=$(pg_restore --list "$file" | grep -c " TABLE DATA ") ||
        die "$file: no table data in this archive"
    echo "ok: $file is a readable pg_dump archive with data for $tables tables"
}

backup() {
    local stamp out tmp files excess
    install -d -m 0700 "$BACKUP_DIR"
    stamp=$(date -u +%Y%m%dT%H%M%S.%3NZ)
    if [[ $kind == sqlite ]]; then
        [[ -f $db ]] || die "no database at $db"
        out=$BACKUP_DIR/gateway-$stamp.db.gz
        tmp=$BACKUP_DIR/.gateway-$stamp.db
        partial=$tmp
        # The online backup API copies a consistent snapshot while the gateway keeps writing;
        # .timeout waits out a writer's lock instead of failing.
        sqlite3 -bail -batch "$db" ".timeout 20000" ".backup '$tmp'"
        gzip -n "$tmp"
        mv -f "$tmp.gz" "$out"
        partial=""
        check_sqlite "$out" >/dev/null
    else
        out=$BACKUP_DIR/gateway-$stamp.dump
        tmp=$BACKUP_DIR/.gateway-$stamp.dump
        partial=$tmp
        # shellcheck disable=SC2086 # PG_DUMP_OPTIONS is a list of options
        pg_dump --format=custom --no-owner --no-privileges $PG_DUMP_OPTIONS --file="$tmp" "$pg_url"
        mv -f "$tmp" "$out"
        partial=""
        check_postgresql "$out" >/dev/null
    fi
    echo "backup written: $out ($(du -h "$out" | cut -f1))"
    # Keep the newest BACKUP_KEEP (names sort by time).  By count, not by age: if backups stop
    # for a while, the last good ones are never aged out.
    shopt -s nullglob
    files=("$BACKUP_DIR"/gateway-*)
    excess=$((${#files[@]} - BACKUP_KEEP))
    if ((excess > 0)); then
        rm -f -- "${files[@]:0:excess}"
        echo "removed $excess old backup(s)"
    fi
}

restore() {
    local file=$1 stamp
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    if [[ $kind == sqlite ]]; then
        check_sqlite "$file"
        # A live gateway keeps db-wal/db-shm; an old WAL would be replayed onto the restored file.
        for side in "$db-wal" "$db-shm"; do
            [[ ! -e $side ]] || die "$side exists: stop the gateway first (systemctl stop mt5-gateway)"
        done
        gzip -dc "$file" >"$db.restoring"
        if [[ $EUID -eq 0 ]]; then # run as root: the file goes to the directory's owner
            chown --reference="$(dirname "$db")" "$db.restoring"
        fi
        if [[ -e $db ]]; then
            mv -f "$db" "$db.before-restore-$stamp"
            echo "the replaced database is kept as $db.before-restore-$stamp"
        fi
        mv -f "$db.restoring" "$db"
        echo "restored $db from $file"
    else
        check_postgresql "$file"
        pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
            --exit-on-error --dbname="$pg_url" "$file"
        echo "restored the database from $file"
    fi
}

case ${1:-backup} in
backup) backup ;;
check)
    [[ -f ${2:-} ]] || die "usage: $0 check FILE"
    "check_$kind" "$2"
    ;;
restore)
    [[ -f ${2:-} ]] || die "usage: $0 restore FILE"
    restore "$2"
    ;;
*) die "usage: $0 [backup | check FILE | restore FILE]" ;;
esac
