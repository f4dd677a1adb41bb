#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests.
#
#   scripts/postgres.sh run DATA_DIR PORT         foreground (for a process runner); initializes DATA_DIR if needed
#   scripts/postgres.sh start DATA_DIR PORT       same, in the background (pg_ctl -w); log: <DATA_DIR>.log
#   scripts/postgres.sh stop DATA_DIR             fast shutdown; no-op when not running
#   scripts/postgres.sh wait PORT [TIMEOUT]       until pg_isready -h 127.0.0.1 -p PORT (default 30 s)
#   scripts/postgres.sh createdb PORT NAME...     create each database if missing, with btree_gist
#
# The server listens on 127.0.0.1:PORT only, trusts every local connection (user
# postgres, no password) and puts its Unix socket in <DATA_DIR>.sock (a sibling
# of DATA_DIR). initdb/pg_ctl/postgres refuse to run as root: as root, they run as
# the system user postgres (the data and socket dirs are chowned to it and every
# parent dir is made traversable); as any other user they run directly.
#
# Environment:
#   PG_FAST=1   durability off (fsync, synchronous_commit, full_page_writes) and 300 connections, for tests
#   PG_BIN      PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
set -euo pipefail

readonly PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
readonly PG_USER="postgres"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    printf 'usage:\n' >&2
    grep '^#   scripts/' "${BASH_SOURCE[0]}" | sed 's/^#//' >&2
    exit 2
}

is_root() { [[ ${EUID} -eq 0 ]]; }

# Runs a command as the postgres user when we are root, directly otherwise.
as_pg() {
    if is_root; then
        runuser -u "${PG_USER}" -- "$@"
    else
        "$@"
    fi
}

# Replaces this shell by the command, as the postgres user when we are root.
# setpriv execs in place (unlike runuser/su, whose watching parent SIGKILLs the
# child 2 s after forwarding SIGTERM), so the process runner's signals reach the
# postmaster itself and a smart/fast shutdown can finish.
exec_as_pg() {
    if is_root; then
        exec setpriv --reuid="${PG_USER}" --regid="${PG_USER}" --init-groups --reset-env -- "$@"
    fi
    exec "$@"
}

check_port() {
    if ! [[ "$1" =~ ^[0-9]{1,5}$ ]] || ((10#$1 < 1 || 10#$1 > 65535)); then
        die "invalid port: $1"
    fi
}

check_binaries() {
    [[ -x "${PG_BIN}/postgres" ]] || die "${PG_BIN}/postgres not found; run scripts/bootstrap.sh"
}

abspath() {
    local dir
    dir="$(cd "$(dirname "$1")" && pwd)"
    printf '%s/%s\n' "${dir%/}" "$(basename "$1")"
}

# Every parent of DIR must be traversable by the postgres user.
make_traversable() {
    local dir=$1
    while [[ "${dir}" != "/" && -n "${dir}" ]]; do
        dir="$(dirname "${dir}")"
        if ! runuser -u "${PG_USER}" -- test -x "${dir}"; then
            log "making ${dir} traversable (o+x) for the ${PG_USER} user"
            chmod o+x "${dir}"
        fi
    done
}

# Sets DATA, SOCK_DIR, LOG_FILE (absolute) from the DATA_DIR argument.
set_paths() {
    mkdir -p "$1"
    DATA="$(abspath "$1")"
    SOCK_DIR="${DATA}.sock"
    LOG_FILE="${DATA}.log"
}

prepare() {
    check_binaries
    mkdir -p "${SOCK_DIR}"
    if is_root; then
        id -u "${PG_USER}" >/dev/null 2>&1 || die "system user ${PG_USER} missing; run scripts/bootstrap.sh"
        make_traversable "${DATA}"
        if [[ "$(stat -c %U "${DATA}")" != "${PG_USER}" ]]; then
            chown -R "${PG_USER}:${PG_USER}" "${DATA}"
        fi
        chown "${PG_USER}:${PG_USER}" "${SOCK_DIR}"
    fi
    chmod 700 "${DATA}"
    if [[ ! -f "${DATA}/PG_VERSION" ]]; then
        log "initializing cluster in ${DATA}"
        as_pg "${PG_BIN}/initdb" -D "${DATA}" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
}

server_options() {
    local port=$1
    SERVER_OPTS=(-c listen_addresses=127.0.0.1 -p "${port}" -k "${SOCK_DIR}")
    if [[ "${PG_FAST:-0}" == 1 ]]; then
        # Throwaway test data: trade durability for speed.
        SERVER_OPTS+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
        # Several whole stacks at once (the system tests run in two lanes), each with its pools.
        SERVER_OPTS+=(-c max_connections=300)
    fi
}

cmd_run() {
    (($# == 2)) || usage
    check_port "$2"
    set_paths "$1"
    prepare
    server_options "$2"
    exec_as_pg "${PG_BIN}/postgres" -D "${DATA}" "${SERVER_OPTS[@]}"
}

cmd_start() {
    (($# == 2)) || usage
    check_port "$2"
    set_paths "$1"
    prepare
    if as_pg "${PG_BIN}/pg_ctl" -D "${DATA}" status >/dev/null 2>&1; then
        log "already running (${DATA})"
        return 0
    fi
    server_options "$2"
    # pg_ctl opens the log file as the postgres user: create it for them.
    touch "${LOG_FILE}"
    if is_root; then chown "${PG_USER}:${PG_USER}" "${LOG_FILE}"; fi
    local opts
    opts="$(printf '%q ' "${SERVER_OPTS[@]}")"
    as_pg "${PG_BIN}/pg_ctl" -D "${DATA}" -l "${LOG_FILE}" -o "${opts}" -w -t 60 start >/dev/null \
        || { tail -n 20 "${LOG_FILE}" >&2; die "could not start PostgreSQL (log: ${LOG_FILE})"; }
    log "started on 127.0.0.1:$2 (data ${DATA}, log ${LOG_FILE})"
}

cmd_stop() {
    (($# == 1)) || usage
    check_binaries
    [[ -d "$1" ]] || { log "no data dir $1, nothing to stop"; return 0; }
    local data
    data="$(abspath "$1")"
    if ! as_pg "${PG_BIN}/pg_ctl" -D "${data}" status >/dev/null 2>&1; then
        log "not running (${data})"
        return 0
    fi
    as_pg "${PG_BIN}/pg_ctl" -D "${data}" -m fast -w -t 60 stop >/dev/null
    log "stopped (${data})"
}

cmd_wait() {
    (($# == 1 || $# == 2)) || usage
    check_port "$1"
    local port=$1 timeout=${2:-30} deadline
    [[ "${timeout}" =~ ^[0-9]+$ ]] || die "invalid timeout: ${timeout}"
    deadline=$((SECONDS + timeout))
    until "${PG_BIN}/pg_isready" -q -h 127.0.0.1 -p "${port}" -U postgres -d postgres -t 1; do
        if ((SECONDS >= deadline)); then
            die "PostgreSQL on 127.0.0.1:${port} not ready after ${timeout} s"
        fi
        sleep 0.1
    done
}

cmd_createdb() {
    (($# >= 2)) || usage
    check_port "$1"
    local port=$1 name
    shift
    local psql=("${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port}" -U postgres)
    for name in "$@"; do
        [[ "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "invalid database name: ${name}"
        # \gexec runs the generated CREATE DATABASE only when the database is missing.
        "${psql[@]}" -d postgres -v "dbname=${name}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'dbname')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname')
\gexec
SQL
        "${psql[@]}" -d "${name}" -c 'SET client_min_messages = warning' \
            -c 'CREATE EXTENSION IF NOT EXISTS btree_gist'
        log "database ${name} ready (btree_gist)"
    done
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    case "${cmd}" in
        run) cmd_run "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        wait) cmd_wait "$@" ;;
        createdb) cmd_createdb "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
