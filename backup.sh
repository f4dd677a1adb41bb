#!/usr/bin/env bash
# Backs up user_db, room_db, reservation_db and the Kafka topic configuration, locally and to S3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_NAME="backup.sh"
# shellcheck source=scripts/backup/common.sh
source "${ROOT}/scripts/backup/common.sh"

usage() {
    cat <<'EOF'
Usage: ./backup.sh [--local-only] [--test-aws] [--help]

Dumps user_db, room_db and reservation_db (pg_dump custom format, gzip) and the Kafka topic
configuration, verifies every file, writes a SHA-256 manifest, uploads the set to S3 (each object
encrypted on the server side), then removes local and S3 copies older than their retention. Times in
file names are UTC. The run ends with one JSON line (the result), pushed to a Pushgateway if one is set.

  backups/<db>_YYYYMMDD-HHMMSS.sql.gz                    each database
  backups/kafka/kafka-topics-YYYYMMDD-HHMMSS.json.gz     topics, partitions, replication, configs
  backups/tables-YYYYMMDD-HHMMSS.json                    each table's rows and checksum, in the dump's snapshot
  backups/manifest-YYYYMMDD-HHMMSS.sha256                checksums of the set (sha256sum format)
  s3://$S3_BUCKET_NAME/$S3_PREFIX/YYYY-MM/DD/<the same file names>

Options:
  --local-only   keep the backup on this machine only (no upload, no S3 pruning)
  --test-aws     check the AWS credentials and access to the bucket; changes nothing
  -h, --help     show this help

Exit status: 0 all done; 1 something failed (whatever succeeded is kept, and nothing is pruned);
2 bad usage; 75 another backup is still running.

Settings (environment, else config/aws-config.sh or BACKUP_CONFIG, else the default shown):
  S3_BUCKET_NAME            bucket (required unless --local-only); created if missing
  S3_PREFIX                 key prefix (database-backups)
  S3_ENDPOINT_URL           another S3 endpoint, e.g. a local moto server (AWS itself)
  S3_SSE                    server-side encryption of every object: AES256 (SSE-S3) or aws:kms (AES256)
  S3_SSE_KMS_KEY_ID         the KMS key of aws:kms (the account's aws/s3 key)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION (us-east-1), or AWS_PROFILE
  BACKUP_DIR                local backups (<project>/backups)
  LOG_DIR                   logs, one file a day: backup_YYYY-MM-DD.log (<project>/logs)
  LOCAL_RETENTION_DAYS      days kept locally, 0 = forever (7)
  S3_RETENTION_DAYS         days kept in S3, 0 = forever (30)
  USER_DATABASE_URL, ROOM_DATABASE_URL, RESERVATION_DATABASE_URL
                            postgresql://user:password@host:port/name of each database
                            (DATABASE_URL in <service>-service/.env, else
                            postgresql://postgres@127.0.0.1:54329/<db>, the `make run` server)
  <SERVICE>_DB_HOST, _PORT, _USER, _PASSWORD, _NAME, or DB_HOST, DB_PORT, DB_USER, DB_PASSWORD
                            override one part of a database's URL (SERVICE: USER, ROOM, RESERVATION)
  KAFKA_BOOTSTRAP_SERVERS   brokers (a service's .env, else 127.0.0.1:9092)
  KAFKA_TOPIC_PREFIX        back up only topics starting with it (a service's .env, else all)
  PG_BIN                    PostgreSQL client programs (/usr/lib/postgresql/15/bin); the dump uses the
                            pg_dump of the server's major version, from here or /usr/lib/postgresql/<major>/bin
  BACKUP_PYTHON             Python with boto3, kafka-python and psycopg2 (<project>/.venv/bin/python)
  PUSHGATEWAY_URL           push the result's metrics there (backup_last_success_timestamp_seconds, ...)
  BACKUP_RELEASE            the `release` label of the pushed metrics (meeting-room-system)
EOF
}

LOCAL_ONLY=0
TEST_AWS=0
FAILURES=()
FILES=()
STATS=()
STARTED="$(date +%s)"

parse_args() {
    while (($#)); do
        case "$1" in
            --local-only) LOCAL_ONLY=1 ;;
            --test-aws) TEST_AWS=1 ;;
            -h | --help) usage; exit 0 ;;
            *) usage_error "unknown argument: $1" ;;
        esac
        shift
    done
    if ((LOCAL_ONLY && TEST_AWS)); then usage_error "--local-only and --test-aws do not go together"; fi
}

test_aws() {
    log INFO "checking AWS access (nothing is changed)"
    if run_logged helper s3-check; then
        log INFO "AWS check passed"
        exit 0
    fi
    log ERROR "AWS check failed"
    exit 1
}

fail() {
    FAILURES+=("$1")
    log ERROR "$1"
}

# Dumps one database to <db>_<TS>.sql.gz, through a .partial file that only a verified dump leaves, and
# counts and hashes its tables in the dump's snapshot (scripts/backup/tables.py).
dump_database() {
    local db=$1 out="${BACKUP_DIR}/$1_${TS}.sql.gz" stats="${BACKUP_DIR}/.tables-$1-${TS}.json"
    if ! resolve_database "${db}"; then
        fail "${db}: not backed up (bad connection settings)"
        return 0
    fi
    log INFO "${db}: dumping $(describe_connection)"
    if ! run_logged pg_run_helper pg-dump --conninfo "$(conninfo)" --out "${out}.partial" --stats "${stats}"; then
        fail "${db}: pg_dump failed (see above)"
        rm -f "${out}.partial" "${stats}"
        return 0
    fi
    STATS+=("${db}=${stats}")
    if ! gzip -t "${out}.partial" || ! gunzip -c "${out}.partial" | "${PG_BIN}/pg_restore" --list >/dev/null; then
        rm -f "${out}.partial" "${stats}"
        unset 'STATS[-1]'
        fail "${db}: the dump does not read back (gzip -t / pg_restore --list)"
        return 0
    fi
    mv "${out}.partial" "${out}"
    FILES+=("${out}")
    log INFO "${db}: ${out} ($(du -h "${out}" | cut -f1), verified with pg_restore --list)"
}

export_kafka() {
    local out="${BACKUP_DIR}/kafka/kafka-topics-${TS}.json.gz"
    log INFO "kafka: exporting the topic configuration from ${KAFKA_BOOTSTRAP_SERVERS}"
    if run_logged helper kafka-export --out "${out}.partial" && gzip -t "${out}.partial"; then
        mv "${out}.partial" "${out}"
        FILES+=("${out}")
        log INFO "kafka: ${out}"
    else
        rm -f "${out}.partial"
        fail "kafka: topic export failed (is Kafka up at ${KAFKA_BOOTSTRAP_SERVERS}?)"
    fi
}

# sha256sum lines with bare file names, so `sha256sum -c` works wherever the set is laid flat (S3).
write_manifest() {
    local manifest="${BACKUP_DIR}/manifest-${TS}.sha256" tables="${BACKUP_DIR}/tables-${TS}.json" file
    if ((${#FILES[@]} == 0)); then
        fail "nothing was backed up, so there is no manifest"
        return 0
    fi
    if ((${#STATS[@]})); then
        if run_logged helper tables-merge --timestamp "${TS}" --out "${tables}.partial" "${STATS[@]}"; then
            mv "${tables}.partial" "${tables}"
            FILES+=("${tables}")
        else
            fail "tables: the table manifest could not be written"
        fi
        rm -f "${tables}.partial" "${STATS[@]#*=}"
    fi
    for file in "${FILES[@]}"; do
        printf '%s  %s\n' "$(sha256sum "${file}" | cut -d' ' -f1)" "$(basename "${file}")"
    done >"${manifest}.partial"
    mv "${manifest}.partial" "${manifest}"
    FILES+=("${manifest}")
    log INFO "manifest: ${manifest} (${#FILES[@]} files with it)"
}

upload() {
    if ((LOCAL_ONLY)); then
        log INFO "s3: skipped (--local-only)"
        return 0
    fi
    if [[ -z "${S3_BUCKET_NAME}" ]]; then
        fail "s3: S3_BUCKET_NAME is not set; set it in config/aws-config.sh, or run with --local-only"
        return 0
    fi
    log INFO "s3: uploading ${#FILES[@]} file(s) to s3://${S3_BUCKET_NAME}/${S3_PREFIX}/"
    run_logged helper s3-upload --timestamp "${TS}" "${FILES[@]}" || fail "s3: upload failed (see above); the local backup is complete"
}

prune() {
    if ((${#FAILURES[@]})); then
        log WARN "retention: skipped, because this run failed (older backups may be all there is)"
        return 0
    fi
    log INFO "retention: local copies older than ${LOCAL_RETENTION_DAYS} day(s)"
    run_logged helper prune-local --dir "${BACKUP_DIR}" --days "${LOCAL_RETENTION_DAYS}" || fail "retention: local pruning failed"
    if ((!LOCAL_ONLY)); then
        log INFO "retention: S3 copies older than ${S3_RETENTION_DAYS} day(s)"
        run_logged helper s3-prune --days "${S3_RETENTION_DAYS}" || fail "retention: S3 pruning failed"
    fi
}

main() {
    parse_args "$@"
    load_config
    if ((TEST_AWS)); then test_aws; fi
    mkdir -p "${BACKUP_DIR}/kafka" "${LOG_DIR}"
    LOG_FILE="${LOG_DIR}/backup_$(date -u +%Y-%m-%d).log"
    check_tools
    exec 9>"${BACKUP_DIR}/.backup.lock"
    if ! flock -n 9; then
        log ERROR "another backup is running (lock ${BACKUP_DIR}/.backup.lock); nothing done"
        exit 75
    fi
    TS="$(date -u +%Y%m%d-%H%M%S)"
    while [[ -e "${BACKUP_DIR}/manifest-${TS}.sha256" ]]; do # one set per second: never overwrite one
        sleep 1
        TS="$(date -u +%Y%m%d-%H%M%S)"
    done
    log INFO "backup ${TS} started (backups in ${BACKUP_DIR}, log ${LOG_FILE})"
    local db
    for db in "${DATABASES[@]}"; do dump_database "${db}"; done
    export_kafka
    write_manifest
    if ((${#FILES[@]})); then upload; fi
    prune
    if ((${#FAILURES[@]})); then
        log ERROR "backup ${TS} finished with ${#FAILURES[@]} failure(s): $(printf '%s; ' "${FAILURES[@]}")"
        report failure "$(printf '%s; ' "${FAILURES[@]}")"
        exit 1
    fi
    log INFO "backup ${TS} finished: ${#FILES[@]} file(s)$( ((LOCAL_ONLY)) || printf ', in S3 too')"
    report success "${#FILES[@]} file(s)$( ((LOCAL_ONLY)) && printf ', local only')"
}

# The result as one JSON line on stdout (and to the Pushgateway): what the alerts watch.
report() {
    helper report --job backup --result "$1" --timestamp "${TS}" --started "${STARTED}" --detail "$2" \
        || log ERROR "the result could not be pushed to ${PUSHGATEWAY_URL} (see above)"
}

main "$@"
