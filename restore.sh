#!/usr/bin/env bash
# Restores databases (and the Kafka topics) from the files backup.sh made, locally or in S3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_NAME="restore.sh"
# shellcheck source=scripts/backup/common.sh
source "${ROOT}/scripts/backup/common.sh"

usage() {
    cat <<'EOF'
Usage: ./restore.sh [options] [all | user_db | room_db | reservation_db | kafka]...

Restores the newest backup of each database named (default: all, the three databases) from
BACKUP_DIR, or from S3 with --from-s3. Each file is checked against its manifest's SHA-256 and
read with pg_restore --list before anything is touched. A database is restored into a new
database, <name>__restore, which then replaces the target, so a failed restore leaves the target
as it was; the new database keeps the old one's owner. A target that already has tables is only
replaced with --force. Stop the services (web, relay, consumer) first: their connections to a
replaced database are closed.

`kafka` creates the topics of the newest topic export that are missing (partitions,
replication, topic configs); existing topics are left as they are.

--verify-only is the restore drill: each database named (default: all three) is restored into a
scratch database, <name>__drill, on the same server; every table's row count and checksum is
compared with the set's table manifest (tables-YYYYMMDD-HHMMSS.json, taken in the dump's own
snapshot), and the scratch database is dropped. Nothing else is touched. The result is one JSON line
on stdout (pushed to PUSHGATEWAY_URL when set); any difference fails the drill.

Options:
  --from-s3           take the backups from S3 (S3_BUCKET_NAME, S3_PREFIX) instead of BACKUP_DIR
  --timestamp TS      the backup taken at TS (YYYYMMDD-HHMMSS, UTC) instead of the newest
  --file PATH         restore this local file (one database or kafka only)
  --s3-key KEY        restore this S3 object, e.g. database-backups/2025-01/31/room_db_20250131-020000.sql.gz
                      (one database or kafka only)
  --force             replace a database that already has tables
  --no-owner          do not restore object ownership and privileges (restoring to another server)
  --no-checksum       restore a file that has no manifest (checksum not verified)
  --list              list the backups available (locally, or in S3 with --from-s3) and exit
  --verify-only       the restore drill: restore into scratch databases, compare with the manifests, drop them
  -h, --help          show this help

Exit status: 0 restored; 1 failed (a target is never left half-restored); 2 bad usage.
Settings: those of ./backup.sh --help (database URLs, BACKUP_DIR, LOG_DIR, S3_*, AWS_*,
KAFKA_BOOTSTRAP_SERVERS, PG_BIN, BACKUP_PYTHON). Log: LOG_DIR/restore_YYYY-MM-DD.log.

By hand, without this script (a database that exists and is empty):
  gunzip -c backups/<db>_YYYYMMDD-HHMMSS.sql.gz | pg_restore -U postgres -d <database>
EOF
}

FROM_S3=0
FORCE=0
NO_OWNER=0
NO_CHECKSUM=0
LIST=0
VERIFY_ONLY=0
REPORTED=0
SCRATCH=()
STARTED="$(date +%s)"
TIMESTAMP=""
SOURCE_FILE=""
SOURCE_KEY=""
TARGETS=()

parse_args() {
    while (($#)); do
        case "$1" in
            --from-s3) FROM_S3=1 ;;
            --force) FORCE=1 ;;
            --no-owner) NO_OWNER=1 ;;
            --no-checksum) NO_CHECKSUM=1 ;;
            --list) LIST=1 ;;
            --verify-only) VERIFY_ONLY=1 ;;
            --timestamp | --file | --s3-key)
                (($# >= 2)) || usage_error "$1 needs a value"
                case "$1" in
                    --timestamp) TIMESTAMP=$2 ;;
                    --file) SOURCE_FILE=$2 ;;
                    --s3-key) SOURCE_KEY=$2 ;;
                esac
                shift
                ;;
            -h | --help) usage; exit 0 ;;
            all) TARGETS+=("${DATABASES[@]}") ;;
            user_db | room_db | reservation_db | kafka) TARGETS+=("$1") ;;
            *) usage_error "unknown argument: $1" ;;
        esac
        shift
    done
    ((${#TARGETS[@]})) || TARGETS=("${DATABASES[@]}")
    local -A seen=()
    local target unique=()
    for target in "${TARGETS[@]}"; do
        [[ -n "${seen[${target}]:-}" ]] || unique+=("${target}")
        seen[${target}]=1
    done
    TARGETS=("${unique[@]}")
    if [[ -n "${TIMESTAMP}" && ! "${TIMESTAMP}" =~ ^${TS_PATTERN}$ ]]; then usage_error "--timestamp takes YYYYMMDD-HHMMSS"; fi
    if [[ -n "${SOURCE_FILE}" && -n "${SOURCE_KEY}" ]]; then usage_error "--file and --s3-key do not go together"; fi
    if [[ -n "${SOURCE_FILE}${SOURCE_KEY}" && ${#TARGETS[@]} -ne 1 ]]; then
        usage_error "--file and --s3-key restore exactly one target (user_db, room_db, reservation_db or kafka)"
    fi
    if [[ -n "${SOURCE_KEY}" ]]; then FROM_S3=1; fi
    if ((VERIFY_ONLY)); then
        [[ " ${TARGETS[*]} " != *" kafka "* ]] || usage_error "--verify-only checks databases, not kafka"
        ((!NO_CHECKSUM)) || usage_error "--verify-only always checks the checksums"
        ((!FORCE)) || usage_error "--verify-only changes nothing, so --force has no meaning"
    fi
}

# kind → the file name pattern backup.sh uses for it.
file_glob() { if [[ $1 == kafka ]]; then printf 'kafka/kafka-topics-%s.json.gz' "$2"; else printf '%s_%s.sql.gz' "$1" "$2"; fi; }
kind_name() { if [[ $1 == kafka ]]; then printf 'kafka-topics'; else printf '%s' "$1"; fi; }

list_backups() {
    if ((FROM_S3)); then
        helper s3-list || die "cannot list s3://${S3_BUCKET_NAME}/${S3_PREFIX}/"
    else
        [[ -d "${BACKUP_DIR}" ]] || die "no backup directory ${BACKUP_DIR}"
        find "${BACKUP_DIR}" -maxdepth 2 -type f -regextype posix-extended \
            -regex ".*/(user_db_|room_db_|reservation_db_|kafka-topics-|manifest-|tables-)${TS_PATTERN}\.(sql\.gz|json\.gz|sha256|json)" \
            | sort
    fi
}

# Sets SOURCE (a local file) and MANIFEST (its manifest, or empty) for one target.
find_source() {
    local target=$1 key name ts
    if ((FROM_S3)); then
        if [[ -n "${SOURCE_KEY}" ]]; then key="${SOURCE_KEY}"; else
            key="$(helper s3-latest "$(kind_name "${target}")" ${TIMESTAMP:+--timestamp "${TIMESTAMP}"} 2>"${WORK_DIR}/error")" \
                || die "${target}: $(cat "${WORK_DIR}/error")"
        fi
        name="$(basename "${key}")"
        SOURCE="${WORK_DIR}/${name}"
        log INFO "${target}: downloading s3://${S3_BUCKET_NAME}/${key}"
        run_logged helper s3-get "${key}" "${SOURCE}" || die "${target}: download failed"
        MANIFEST=""
        if [[ "${name}" =~ (${TS_PATTERN}) ]]; then
            ts="${BASH_REMATCH[1]}"
            if helper s3-get "$(dirname "${key}")/manifest-${ts}.sha256" "${WORK_DIR}/manifest-${ts}.sha256" 2>/dev/null; then
                MANIFEST="${WORK_DIR}/manifest-${ts}.sha256"
            fi
        fi
        return 0
    fi
    if [[ -n "${SOURCE_FILE}" ]]; then
        SOURCE="${SOURCE_FILE}"
    else
        SOURCE="$(compgen -G "${BACKUP_DIR}/$(file_glob "${target}" "${TIMESTAMP:-*}")" | sort | tail -n 1 || true)"
        [[ -n "${SOURCE}" ]] || die "${target}: no backup${TIMESTAMP:+ taken at ${TIMESTAMP}} in ${BACKUP_DIR}"
    fi
    [[ -f "${SOURCE}" ]] || die "${target}: ${SOURCE} not found"
    MANIFEST=""
    if [[ "$(basename "${SOURCE}")" =~ (${TS_PATTERN}) ]]; then
        ts="${BASH_REMATCH[1]}"
        for MANIFEST in "$(dirname "${SOURCE}")/manifest-${ts}.sha256" "$(dirname "$(dirname "${SOURCE}")")/manifest-${ts}.sha256" ""; do
            [[ -z "${MANIFEST}" || -f "${MANIFEST}" ]] && break
        done
    fi
}

verify_checksum() {
    local target=$1 name expected actual
    name="$(basename "${SOURCE}")"
    if ((NO_CHECKSUM)); then
        log WARN "${target}: checksum not verified (--no-checksum)"
        return 0
    fi
    [[ -n "${MANIFEST}" ]] || die "${target}: no manifest for ${name} (manifest-<timestamp>.sha256); --no-checksum restores it anyway"
    expected="$(awk -v f="${name}" '$2 == f { print $1 }' "${MANIFEST}")"
    [[ -n "${expected}" ]] || die "${target}: ${name} is not listed in ${MANIFEST}"
    actual="$(sha256sum "${SOURCE}" | cut -d' ' -f1)"
    [[ "${actual}" == "${expected}" ]] || die "${target}: checksum mismatch for ${name} (manifest ${expected}, file ${actual}); not restored"
    log INFO "${target}: checksum matches ${MANIFEST}"
}

# psql on the server's maintenance database; the SQL comes on stdin, so :"name" variables work.
psql_admin() {
    { echo 'SET client_min_messages = warning;' && cat; } \
        | pg_run psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$(conninfo "${PG_MAINTENANCE_DB}")" "$@"
}

table_count() {
    pg_run psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$(conninfo)" -c "SELECT count(*) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%'"
}

# Before anything changes: the archive reads, and the target may be replaced.
check_database() {
    local db=$1 exists tables
    resolve_database "${db}" || exit 1
    gunzip -c "${SOURCE}" | "${PG_BIN}/pg_restore" --list >/dev/null \
        || die "${db}: $(basename "${SOURCE}") is not a readable pg_dump archive"
    exists="$(psql_admin -v name="${CONN_NAME}" <<<"SELECT count(*) FROM pg_database WHERE datname = :'name'")" \
        || die "${db}: cannot connect to $(describe_connection)"
    if [[ "${exists}" == 1 ]]; then
        tables="$(table_count)" || die "${db}: cannot read $(describe_connection)"
        if [[ "${tables}" != 0 && ${FORCE} -eq 0 ]]; then
            die "${db}: $(describe_connection) already has ${tables} table(s); not overwritten (--force replaces it)"
        fi
    fi
}

restore_database() {
    local db=$1 staging owner
    resolve_database "${db}" || exit 1
    local target="${CONN_NAME}"
    staging="${target:0:54}__restore"
    # The replacement keeps the owner of the database it replaces: in PostgreSQL 15 the owner of a
    # database owns its public schema, where the service's migrations create tables.
    owner="$(psql_admin -v name="${target}" <<<"SELECT coalesce((SELECT pg_get_userbyid(datdba) FROM pg_database
        WHERE datname = :'name'), current_user)")" || die "${db}: cannot connect to $(describe_connection)"
    log INFO "${db}: restoring $(basename "${SOURCE}") into ${staging} (owner ${owner}), then replacing $(describe_connection)"
    psql_admin -v name="${staging}" -v owner="${owner}" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);
CREATE DATABASE :"name" OWNER :"owner" TEMPLATE template0;' || die "${db}: cannot create ${staging}"
    local options=(--exit-on-error --single-transaction)
    if ((NO_OWNER)); then options+=(--no-owner --no-privileges); fi
    if ! gunzip -c "${SOURCE}" | run_logged pg_run pg_restore "${options[@]}" -d "$(conninfo "${staging}")"; then
        psql_admin -v name="${staging}" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);' || true
        die "${db}: pg_restore failed; $(describe_connection) was not changed"
    fi
    psql_admin -v name="${target}" -v staging="${staging}" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);
ALTER DATABASE :"staging" RENAME TO :"name";' || die "${db}: could not replace ${target} by ${staging}"
    log INFO "${db}: restored into $(describe_connection)"
}

# The table manifest of the set SOURCE belongs to, next to its manifest (downloaded from S3 if need be).
find_tables() {
    local target=$1 ts
    [[ "$(basename "${SOURCE}")" =~ (${TS_PATTERN}) ]] || die "${target}: no timestamp in $(basename "${SOURCE}")"
    ts="${BASH_REMATCH[1]}"
    TABLES="$(dirname "${MANIFEST}")/tables-${ts}.json"
    if ((FROM_S3)) && [[ ! -f "${TABLES}" ]]; then
        local key
        key="$(helper s3-latest tables --timestamp "${ts}" 2>"${WORK_DIR}/error")" || die "${target}: $(cat "${WORK_DIR}/error")"
        run_logged helper s3-get "${key}" "${TABLES}" || die "${target}: cannot download ${key}"
    fi
    [[ -f "${TABLES}" ]] || die "${target}: no table manifest tables-${ts}.json beside ${MANIFEST}"
    # The table manifest is one of the set's files: its own checksum is in the manifest.
    local expected
    expected="$(awk -v f="tables-${ts}.json" '$2 == f { print $1 }' "${MANIFEST}")"
    [[ -n "${expected}" && "$(sha256sum "${TABLES}" | cut -d' ' -f1)" == "${expected}" ]] \
        || die "${target}: tables-${ts}.json does not match ${MANIFEST}"
}

# The drill for one database: restore into a scratch database, compare every table, drop it.
verify_database() {
    local db=$1 scratch
    resolve_database "${db}" || exit 1
    scratch="${CONN_NAME:0:55}__drill"
    SCRATCH+=("${db}=${scratch}")
    log INFO "${db}: restoring $(basename "${SOURCE}") into the scratch database ${scratch}"
    psql_admin -v name="${scratch}" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);
CREATE DATABASE :"name" TEMPLATE template0;' || die "${db}: cannot create ${scratch}"
    gunzip -c "${SOURCE}" | run_logged pg_run pg_restore --exit-on-error --single-transaction --no-owner \
        --no-privileges -d "$(conninfo "${scratch}")" || die "${db}: pg_restore into ${scratch} failed"
    run_logged pg_run_helper tables-verify --conninfo "$(conninfo "${scratch}")" --manifest "${TABLES}" --database "${db}" \
        || die "${db}: the restored tables differ from $(basename "${TABLES}")"
    drop_scratch "${db}" "${scratch}"
}

drop_scratch() {
    resolve_database "$1" || return 1
    psql_admin -v name="$2" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);' && log INFO "$1: dropped $2"
}

# On every exit: scratch databases dropped, and a drill that did not report success reports a failure.
finish() {
    local status=$? item
    for item in "${SCRATCH[@]}"; do drop_scratch "${item%%=*}" "${item#*=}" >/dev/null 2>&1 || true; done
    if ((VERIFY_ONLY && !REPORTED)); then
        helper report --job restore-drill --result failure --timestamp "${TIMESTAMP}" --started "${STARTED}" \
            --detail "$(first_error)" || true
    fi
    rm -rf "${WORK_DIR:-}"
    return "${status}"
}

# The first error this run logged (the reason a drill failed).
first_error() {
    [[ -f "${LOG_FILE:-}" ]] || return 0
    tail -n "+$((LOG_START + 1))" "${LOG_FILE}" | grep -m 1 '\[ERROR\]' | cut -c1-500 || true
}

drill() {
    local target ts=""
    for target in "${TARGETS[@]}"; do
        find_source "${target}"
        verify_checksum "${target}"
        find_tables "${target}"
        [[ "$(basename "${SOURCE}")" =~ (${TS_PATTERN}) ]] && ts="${BASH_REMATCH[1]}"
        verify_database "${target}"
    done
    SCRATCH=()
    log INFO "restore drill passed: ${TARGETS[*]} of ${ts} restored and identical to the manifest"
    REPORTED=1
    helper report --job restore-drill --result success --timestamp "${ts}" --started "${STARTED}" \
        --detail "${TARGETS[*]}" || die "the drill passed, but its result could not be pushed"
}

restore_kafka() {
    log INFO "kafka: creating the missing topics of $(basename "${SOURCE}") on ${KAFKA_BOOTSTRAP_SERVERS}"
    run_logged helper kafka-restore --file "${SOURCE}" || die "kafka: topic restore failed"
}

main() {
    parse_args "$@"
    load_config
    if ((FROM_S3)) && [[ -z "${S3_BUCKET_NAME}" ]]; then usage_error "S3_BUCKET_NAME is not set"; fi
    if ((LIST)); then
        list_backups
        exit 0
    fi
    mkdir -p "${LOG_DIR}"
    LOG_FILE="${LOG_DIR}/restore_$(date -u +%Y-%m-%d).log"
    LOG_START="$(wc -l <"${LOG_FILE}" 2>/dev/null || echo 0)"
    check_tools
    WORK_DIR="$(mktemp -d)"
    trap finish EXIT
    if ((VERIFY_ONLY)); then
        drill
        exit 0
    fi
    local target
    local -A sources=()
    for target in "${TARGETS[@]}"; do # every check first, so a refusal changes nothing
        find_source "${target}"
        verify_checksum "${target}"
        if [[ "${target}" != kafka ]]; then check_database "${target}"; fi
        sources[${target}]="${SOURCE}"
    done
    for target in "${TARGETS[@]}"; do
        SOURCE="${sources[${target}]}"
        if [[ "${target}" == kafka ]]; then restore_kafka; else restore_database "${target}"; fi
    done
    log INFO "restore finished: ${TARGETS[*]}"
}

main "$@"
