# shellcheck shell=bash
# Shared by backup.sh, restore.sh and setup_backup_cron.sh: settings, logging, database connections.
# Sourced, never run. The caller sets ROOT (the project directory) and SCRIPT_NAME first.

# Settings a user may put in config/aws-config.sh. A variable already set in the environment wins over
# the file, so a one-off `S3_BUCKET_NAME=x ./backup.sh` does what it says.
readonly BACKUP_SETTINGS=(
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_PROFILE
    S3_BUCKET_NAME S3_PREFIX S3_ENDPOINT_URL S3_SSE S3_SSE_KMS_KEY_ID BACKUP_DIR LOG_DIR
    LOCAL_RETENTION_DAYS S3_RETENTION_DAYS PUSHGATEWAY_URL BACKUP_RELEASE
    USER_DATABASE_URL ROOM_DATABASE_URL RESERVATION_DATABASE_URL
    USER_DB_HOST USER_DB_PORT USER_DB_USER USER_DB_PASSWORD USER_DB_NAME
    ROOM_DB_HOST ROOM_DB_PORT ROOM_DB_USER ROOM_DB_PASSWORD ROOM_DB_NAME
    RESERVATION_DB_HOST RESERVATION_DB_PORT RESERVATION_DB_USER RESERVATION_DB_PASSWORD RESERVATION_DB_NAME
    DB_HOST DB_PORT DB_USER DB_PASSWORD PG_MAINTENANCE_DB
    KAFKA_BOOTSTRAP_SERVERS KAFKA_TOPIC_PREFIX PG_BIN BACKUP_PYTHON
)
# The logical databases: file names use these, whatever the real database is called.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly DATABASES=(user_db room_db reservation_db)
# shellcheck disable=SC2034
readonly TS_PATTERN='[0-9]{8}-[0-9]{6}'

log() {
    local level=$1 line
    shift
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${level}] $*"
    printf '%s\n' "${line}" >&2
    if [[ -n "${LOG_FILE:-}" ]]; then printf '%s\n' "${line}" >>"${LOG_FILE}"; fi
}
die() {
    log ERROR "$*"
    exit 1
}
usage_error() {
    printf '%s: %s (see --help)\n' "${SCRIPT_NAME}" "$*" >&2
    exit 2
}

# Runs a command, logging each line it prints; returns its status.
run_logged() {
    local output status=0 line
    output="$("$@" 2>&1)" || status=$?
    if [[ -n "${output}" ]]; then
        local level=INFO
        if [[ ${status} -ne 0 ]]; then level=ERROR; fi
        while IFS= read -r line; do log "${level}" "  ${line}"; done <<<"${output}"
    fi
    return "${status}"
}

# Loads config/aws-config.sh (or BACKUP_CONFIG) without letting it override the environment, then
# fills every setting's default.
load_config() {
    local config="${BACKUP_CONFIG:-${ROOT}/config/aws-config.sh}" name
    local -A saved=()
    for name in "${BACKUP_SETTINGS[@]}"; do
        if [[ -n "${!name+set}" ]]; then saved[${name}]="${!name}"; fi
    done
    if [[ -f "${config}" ]]; then
        # shellcheck source=/dev/null
        source "${config}"
    fi
    for name in "${!saved[@]}"; do printf -v "${name}" '%s' "${saved[${name}]}"; done

    BACKUP_DIR="${BACKUP_DIR:-${ROOT}/backups}"
    LOG_DIR="${LOG_DIR:-${ROOT}/logs}"
    LOCAL_RETENTION_DAYS="${LOCAL_RETENTION_DAYS:-7}"
    S3_RETENTION_DAYS="${S3_RETENTION_DAYS:-30}"
    S3_PREFIX="${S3_PREFIX:-database-backups}"
    S3_BUCKET_NAME="${S3_BUCKET_NAME:-}"
    S3_ENDPOINT_URL="${S3_ENDPOINT_URL:-}"
    S3_SSE="${S3_SSE:-AES256}"
    S3_SSE_KMS_KEY_ID="${S3_SSE_KMS_KEY_ID:-}"
    PUSHGATEWAY_URL="${PUSHGATEWAY_URL:-}"
    BACKUP_RELEASE="${BACKUP_RELEASE:-meeting-room-system}"
    AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
    PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
    PG_MAINTENANCE_DB="${PG_MAINTENANCE_DB:-postgres}"
    KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-$(env_file_setting KAFKA_BOOTSTRAP_SERVERS)}"
    KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
    KAFKA_TOPIC_PREFIX="${KAFKA_TOPIC_PREFIX-$(env_file_setting KAFKA_TOPIC_PREFIX)}"
    if [[ -z "${BACKUP_PYTHON:-}" ]]; then
        BACKUP_PYTHON="${ROOT}/.venv/bin/python"
        [[ -x "${BACKUP_PYTHON}" ]] || BACKUP_PYTHON="python3"
    fi
    for name in LOCAL_RETENTION_DAYS S3_RETENTION_DAYS; do
        [[ "${!name}" =~ ^[0-9]+$ ]] || usage_error "${name} must be a whole number of days, not '${!name}'"
    done
    [[ "${BACKUP_DIR}" == /* ]] || BACKUP_DIR="${PWD}/${BACKUP_DIR}"
    [[ "${LOG_DIR}" == /* ]] || LOG_DIR="${PWD}/${LOG_DIR}"
    [[ "${S3_SSE}" == AES256 || "${S3_SSE}" == aws:kms ]] || usage_error "S3_SSE must be AES256 or aws:kms, not '${S3_SSE}'"
    export AWS_DEFAULT_REGION S3_BUCKET_NAME S3_PREFIX S3_ENDPOINT_URL S3_SSE S3_SSE_KMS_KEY_ID KAFKA_BOOTSTRAP_SERVERS
    export KAFKA_TOPIC_PREFIX PG_BIN PUSHGATEWAY_URL BACKUP_RELEASE
    for name in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE; do
        if [[ -n "${!name:-}" ]]; then export "${name?}"; fi
    done
}

# The value of KEY in a services' .env file (the first service that sets it), quotes removed.
env_file_setting() {
    local key=$1 service
    for service in user room reservation; do
        env_file_value "${ROOT}/${service}-service/.env" "${key}" && return 0
    done
    return 0
}
env_file_value() {
    local file=$1 key=$2 line
    [[ -f "${file}" ]] || return 1
    line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?${key}=" "${file}" | tail -n 1)" || return 1
    line="${line#*=}"
    if [[ "${line}" =~ ^\"(.*)\"[[:space:]]*$ || "${line}" =~ ^\'(.*)\'[[:space:]]*$ ]]; then line="${BASH_REMATCH[1]}"; fi
    printf '%s' "${line}"
}

# Percent-decoding for the user and password parts of a URL.
url_decode() { printf '%b' "${1//%/\\x}"; }

# Sets CONN_HOST CONN_PORT CONN_USER CONN_PASSWORD CONN_NAME CONN_OPTIONS for a logical database:
# <SERVICE>_DATABASE_URL, else DATABASE_URL from <service>-service/.env, else the `make run` server;
# then <SERVICE>_DB_HOST/_PORT/_USER/_PASSWORD/_NAME, else DB_HOST/..., override single parts.
# Returns 1 (logged) for a URL it cannot read.
resolve_database() {
    local db=$1 service="${1%_db}" prefix url_var url part var
    prefix="${service^^}"
    url_var="${prefix}_DATABASE_URL"
    url="${!url_var:-}"
    [[ -n "${url}" ]] || url="$(env_file_value "${ROOT}/${service}-service/.env" DATABASE_URL || true)"
    [[ -n "${url}" ]] || url="postgresql://postgres@127.0.0.1:54329/${db}"
    local re='^postgres(ql)?(\+[A-Za-z0-9_]+)?://(([^:@/]*)(:([^@/]*))?@)?(\[[^]]*\]|[^:/?]*)(:([0-9]+))?(/([^?]*))?(\?(.*))?$'
    if ! [[ "${url}" =~ ${re} ]]; then
        log ERROR "${db}: cannot read its database URL (postgresql://user:password@host:port/name expected)"
        return 1
    fi
    CONN_USER="$(url_decode "${BASH_REMATCH[4]}")"
    CONN_PASSWORD="$(url_decode "${BASH_REMATCH[6]}")"
    CONN_HOST="${BASH_REMATCH[7]}"
    CONN_HOST="${CONN_HOST#[}"
    CONN_HOST="${CONN_HOST%]}"
    CONN_PORT="${BASH_REMATCH[9]}"
    CONN_NAME="$(url_decode "${BASH_REMATCH[11]}")"
    CONN_OPTIONS="${BASH_REMATCH[13]}"
    for part in HOST PORT USER PASSWORD NAME; do
        var="${prefix}_DB_${part}"
        if [[ -n "${!var:-}" ]]; then
            printf -v "CONN_${part}" '%s' "${!var}"
        elif [[ "${part}" != NAME ]]; then
            var="DB_${part}"
            if [[ -n "${!var:-}" ]]; then printf -v "CONN_${part}" '%s' "${!var}"; fi
        fi
    done
    CONN_HOST="${CONN_HOST:-127.0.0.1}"
    CONN_PORT="${CONN_PORT:-5432}"
    CONN_USER="${CONN_USER:-postgres}"
    CONN_NAME="${CONN_NAME:-${db}}"
}

# A libpq connection string for the database last resolved, or for DBNAME on the same server.
# The password travels in PGPASSWORD (see pg_env), never on a command line.
conninfo() {
    local dbname="${1:-${CONN_NAME}}" info pair key value
    info="host=$(conn_quote "${CONN_HOST}") port=${CONN_PORT} user=$(conn_quote "${CONN_USER}")"
    info+=" dbname=$(conn_quote "${dbname}") connect_timeout=${PG_CONNECT_TIMEOUT:-10}"
    if [[ -n "${CONN_OPTIONS}" ]]; then
        local -a pairs
        IFS='&' read -r -a pairs <<<"${CONN_OPTIONS}"
        for pair in "${pairs[@]}"; do
            key="${pair%%=*}"
            value="$(url_decode "${pair#*=}")"
            [[ "${key}" =~ ^[a-z_]+$ ]] && info+=" ${key}=$(conn_quote "${value}")"
        done
    fi
    printf '%s' "${info}"
}
conn_quote() {
    local value="${1//\\/\\\\}"
    printf "'%s'" "${value//\'/\\\'}"
}

# Runs a PostgreSQL client program with the resolved password, if any.
pg_run() {
    local program=$1
    shift
    if [[ -n "${CONN_PASSWORD}" ]]; then
        PGPASSWORD="${CONN_PASSWORD}" "${PG_BIN}/${program}" "$@"
    else
        "${PG_BIN}/${program}" "$@"
    fi
}

describe_connection() { printf '%s@%s:%s/%s' "${CONN_USER}" "${CONN_HOST}" "${CONN_PORT}" "${CONN_NAME}"; }

# Unbuffered, so its lines and its error come out in the order they were written.
helper() { PYTHONUNBUFFERED=1 "${BACKUP_PYTHON}" "${ROOT}/scripts/backup/helper.py" "$@"; }
# The helper with the resolved database password (for the commands that connect: pg-dump, tables-verify).
pg_run_helper() {
    if [[ -n "${CONN_PASSWORD}" ]]; then PGPASSWORD="${CONN_PASSWORD}" helper "$@"; else helper "$@"; fi
}

check_tools() {
    local tool
    for tool in pg_dump pg_restore psql; do
        [[ -x "${PG_BIN}/${tool}" ]] || die "${PG_BIN}/${tool} not found (set PG_BIN; scripts/bootstrap.sh installs PostgreSQL 15)"
    done
    for tool in gzip sha256sum flock; do
        command -v "${tool}" >/dev/null 2>&1 || die "${tool} not found on PATH"
    done
}
