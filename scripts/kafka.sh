#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined broker+controller) for
# development and tests, run from the jars scripts/bootstrap.sh fetched.
#
#   scripts/kafka.sh run DATA_DIR PORT CONTROLLER_PORT     foreground (for a process runner)
#   scripts/kafka.sh start DATA_DIR PORT CONTROLLER_PORT   background; pid DATA_DIR/kafka.pid, log DATA_DIR/kafka.out
#   scripts/kafka.sh stop DATA_DIR                         SIGTERM, up to 30 s, then SIGKILL
#   scripts/kafka.sh wait PORT [TIMEOUT]                   until the broker answers (default 60 s)
#
# The broker listens on 127.0.0.1:PORT (PLAINTEXT) and 127.0.0.1:CONTROLLER_PORT
# (KRaft controller). DATA_DIR holds server.properties, log4j2.properties and the
# log segments (DATA_DIR/logs, formatted once with a random cluster id).
#
# Environment:
#   KAFKA_HEAP_OPTS   JVM heap (default "-Xms256m -Xmx512m")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly KAFKA_VERSION="4.1.1"
readonly KAFKA_HOME="${ROOT}/.cache/kafka/${KAFKA_VERSION}"
readonly VENV_PYTHON="${ROOT}/.venv/bin/python"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    printf 'usage:\n' >&2
    grep '^#   scripts/' "${BASH_SOURCE[0]}" | sed 's/^#//' >&2
    exit 2
}

check_port() {
    if ! [[ "$1" =~ ^[0-9]{1,5}$ ]] || ((10#$1 < 1 || 10#$1 > 65535)); then
        die "invalid port: $1"
    fi
}

check_install() {
    [[ -f "${KAFKA_HOME}/.complete" ]] || die "Kafka ${KAFKA_VERSION} jars missing in ${KAFKA_HOME}; run scripts/bootstrap.sh"
    command -v java >/dev/null 2>&1 || die "java not found; run scripts/bootstrap.sh"
}

abspath() {
    local dir
    dir="$(cd "$(dirname "$1")" && pwd)"
    printf '%s/%s\n' "${dir%/}" "$(basename "$1")"
}

write_config() {
    local data=$1 port=$2 cport=$3
    cat >"${data}/server.properties" <<EOF
# Written by scripts/kafka.sh: changes are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${data}/logs

num.partitions=3
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF

    # INFO to stdout, tersely; WARN for the per-partition / per-request chatter
    # (topic and partition creation alone logs dozens of lines per partition).
    cat >"${data}/log4j2.properties" <<'EOF'
# Written by scripts/kafka.sh.
status = warn
name = kafka-dev

appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.target = SYSTEM_OUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c{1}: %m%n

rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT

logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.partition.name = kafka.cluster
logger.partition.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
logger.storage.name = org.apache.kafka.storage
logger.storage.level = WARN
logger.replica.name = kafka.server.ReplicaFetcherManager
logger.replica.level = WARN
logger.alterlogdirs.name = kafka.server.ReplicaAlterLogDirsManager
logger.alterlogdirs.level = WARN
logger.metadata.name = kafka.server.metadata
logger.metadata.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.snapshot.name = org.apache.kafka.snapshot
logger.snapshot.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.image.name = org.apache.kafka.image
logger.image.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = WARN
# Consumer group joins, rebalances and leaves (a few lines per consumer): worth keeping.
logger.groups.name = org.apache.kafka.coordinator.group.GroupMetadataManager
logger.groups.level = INFO
logger.purgatory.name = org.apache.kafka.server.purgatory
logger.purgatory.level = WARN
logger.timer.name = org.apache.kafka.server.util.timer
logger.timer.level = WARN
logger.quota.name = kafka.server.ClientQuotaManager$ThrottledChannelReaper
logger.quota.level = WARN
logger.tocontroller.name = kafka.server.NodeToControllerRequestThread
logger.tocontroller.level = WARN
logger.network.name = kafka.network
logger.network.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

# Sets JAVA_OPTS (everything but the heap and the main class).
java_opts() {
    local data=$1
    JAVA_OPTS=(
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=${data}/log4j2.properties"
        -cp "${KAFKA_HOME}/libs/*"
    )
    # shellcheck disable=SC2206 # KAFKA_HEAP_OPTS is a list of JVM flags
    HEAP_OPTS=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m})
}

# Writes the config and formats the storage on first use.
prepare() {
    local data=$1 port=$2 cport=$3
    check_install
    check_port "${port}"
    check_port "${cport}"
    [[ "${port}" != "${cport}" ]] || die "PORT and CONTROLLER_PORT must differ"
    mkdir -p "${data}/logs"
    write_config "${data}" "${port}" "${cport}"
    if [[ ! -f "${data}/logs/meta.properties" ]]; then
        local cluster_id
        # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding. It may begin with "-",
        # hence --cluster-id=ID (as "-t ID" it would be read as an option: one format in 64 failed).
        cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
        log "formatting ${data}/logs (cluster id ${cluster_id})"
        java_opts "${data}"
        java -Xmx256m "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --ignore-formatted \
            --cluster-id="${cluster_id}" -c "${data}/server.properties" >"${data}/format.out" 2>&1 \
            || { cat "${data}/format.out" >&2; die "kafka-storage format failed"; }
    fi
}

cmd_run() {
    (($# == 3)) || usage
    mkdir -p "$1"
    local data
    data="$(abspath "$1")"
    prepare "${data}" "$2" "$3"
    java_opts "${data}"
    exec java "${HEAP_OPTS[@]}" "${JAVA_OPTS[@]}" kafka.Kafka "${data}/server.properties"
}

running_pid() {
    # Prints the broker pid from DATA_DIR/kafka.pid if that process is alive and is a broker.
    local pidfile="$1/kafka.pid" pid
    [[ -f "${pidfile}" ]] || return 1
    pid="$(cat "${pidfile}")"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
    printf '%s\n' "${pid}"
}

cmd_start() {
    (($# == 3)) || usage
    mkdir -p "$1"
    local data pid
    data="$(abspath "$1")"
    if pid="$(running_pid "${data}")"; then
        log "already running (pid ${pid}, ${data})"
        return 0
    fi
    prepare "${data}" "$2" "$3"
    java_opts "${data}"
    # setsid: not killed by a terminal's Ctrl-C, like pg_ctl start; `stop` ends it.
    setsid java "${HEAP_OPTS[@]}" "${JAVA_OPTS[@]}" kafka.Kafka "${data}/server.properties" \
        >"${data}/kafka.out" 2>&1 </dev/null &
    pid=$!
    printf '%s\n' "${pid}" >"${data}/kafka.pid"
    log "started (pid ${pid}, 127.0.0.1:$2, log ${data}/kafka.out)"
}

cmd_stop() {
    (($# == 1)) || usage
    local data=$1 pid i
    if ! pid="$(running_pid "${data}")"; then
        log "not running (${data})"
        rm -f "${data}/kafka.pid"
        return 0
    fi
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
        log "pid ${pid} still running after 30 s, sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "${data}/kafka.pid"
    log "stopped (pid ${pid})"
}

cmd_wait() {
    (($# == 1 || $# == 2)) || usage
    check_port "$1"
    local timeout=${2:-60}
    [[ "${timeout}" =~ ^[0-9]+$ ]] || die "invalid timeout: ${timeout}"
    [[ -x "${VENV_PYTHON}" ]] || die "${VENV_PYTHON} missing; run scripts/bootstrap.sh"
    "${VENV_PYTHON}" -c '
import logging
import sys
import time

from kafka import KafkaAdminClient
from kafka.errors import KafkaConfigurationError, KafkaError

logging.getLogger("kafka").setLevel(logging.CRITICAL)
port, timeout = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + timeout
last_error: Exception | None = None
while time.monotonic() < deadline:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{port}",
            bootstrap_timeout_ms=int(1000 * min(2.0, max(0.1, deadline - time.monotonic()))),
            request_timeout_ms=5000,
        )
        try:
            admin.list_topics()
        finally:
            admin.close()
        sys.exit(0)
    except KafkaConfigurationError:
        raise
    except (KafkaError, OSError) as exc:  # not up yet: retry until the deadline
        last_error = exc
        time.sleep(0.25)
sys.exit(f"kafka.sh: ERROR: Kafka on 127.0.0.1:{port} not ready after {timeout:g} s ({last_error!r})")
' "$1" "${timeout}"
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
        *) usage ;;
    esac
}

main "$@"
