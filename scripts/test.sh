#!/usr/bin/env bash
# `make test`: start throwaway PostgreSQL and Kafka (unless TEST_POSTGRES_URL and
# TEST_KAFKA_BOOTSTRAP_SERVERS name existing ones), then run every suite.
#
#   scripts/test.sh          lint, then every test suite
#   scripts/test.sh lint     ruff and mypy only
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
VENV_BIN="${ROOT}/.venv/bin"
TEST_DIR="${ROOT}/.dev/test"
TEST_PG_PORT="${TEST_PG_PORT:-55432}"
TEST_KAFKA_PORT="${TEST_KAFKA_PORT:-29092}"
TEST_KAFKA_CONTROLLER_PORT="${TEST_KAFKA_CONTROLLER_PORT:-29093}"
REPORTS="${ROOT}/.dev/reports"

lint() {
    echo "== ruff"
    "${VENV_BIN}/ruff" check .
    "${VENV_BIN}/ruff" format --check .
    echo "== mypy"
    "${VENV_BIN}/mypy" libs/servicekit/servicekit libs/servicekit-testing/servicekit_testing \
        user-service/user_service room-service/room_service reservation-service/reservation_service devstack \
        scripts/backup scripts/monitoring scripts/quality bench
}

started_pg=""
started_kafka=""
servers_job=""
kube_job=""
suites_ran=""
cleanup() {
    # Let a start or a build still in progress finish first, or it would outlive us.
    if [[ -n "${servers_job}" ]]; then wait "${servers_job}" 2>/dev/null || true; fi
    if [[ -n "${kube_job}" ]]; then wait "${kube_job}" 2>/dev/null || true; fi
    if [[ -n "${started_kafka}" ]]; then scripts/kafka.sh stop "${TEST_DIR}/kafka" || true; fi
    if [[ -n "${started_pg}" ]]; then scripts/postgres.sh stop "${TEST_DIR}/pgdata" || true; fi
    if [[ -n "${suites_ran}" ]]; then summarize; fi
}

# Decided in this shell (so the exports and the cleanup flags stick); started in the background.
plan_servers() {
    if [[ -z "${TEST_POSTGRES_URL:-}" ]]; then
        started_pg=1
        export TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:${TEST_PG_PORT}/postgres"
    fi
    if [[ -z "${TEST_KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        started_kafka=1
        export TEST_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${TEST_KAFKA_PORT}"
    fi
}

start_servers() {
    mkdir -p "${TEST_DIR}"
    if [[ -n "${started_pg}" ]]; then
        scripts/postgres.sh stop "${TEST_DIR}/pgdata" >/dev/null 2>&1 || true
        rm -rf "${TEST_DIR}/pgdata"
        PG_FAST=1 scripts/postgres.sh start "${TEST_DIR}/pgdata" "${TEST_PG_PORT}"
    fi
    if [[ -n "${started_kafka}" ]]; then
        scripts/kafka.sh stop "${TEST_DIR}/kafka" >/dev/null 2>&1 || true
        rm -rf "${TEST_DIR}/kafka"
        scripts/kafka.sh start "${TEST_DIR}/kafka" "${TEST_KAFKA_PORT}" "${TEST_KAFKA_CONTROLLER_PORT}"
    fi
    scripts/postgres.sh wait "$(python3 -c 'import sys, urllib.parse as u; print(u.urlparse(sys.argv[1]).port or 5432)' "${TEST_POSTGRES_URL}")" 60
    scripts/kafka.sh wait "${TEST_KAFKA_BOOTSTRAP_SERVERS##*:}" 120
}

# Each suite runs in its own pytest process: every service registers its own tables in the
# shared SQLAlchemy metadata, and the reservation service's room replica shares a table name
# with the room service. The service suites run one at a time (in parallel on two cores, their
# database load made the fault tests' broker restarts too slow for their deadlines).
#
# The system tests run in two lanes at once, each its own pytest process: one pytest keeps about one
# core busy, the other one idled. The second lane holds the modules that start stacks of their own
# (Kafka stopped, processes killed, the database restarted, the fuzzer), which share nothing with the
# rest but the PostgreSQL server and, through their own topic prefixes, the Kafka broker.
SYSTEM_SECOND_LANE=(tests/test_event_faults.py tests/test_recovery.py tests/test_database_restart.py tests/test_fuzz.py)

# run_suite NAME PYTEST-ARGS...: one pytest process; its coverage data (and that of every process it
# starts) in a folder of its own, combined into ${REPORTS}/.coverage.NAME.
run_suite() {
    local name="$1" status=0
    shift
    local raw="${REPORTS}/raw-${name}"
    rm -rf "${raw}"
    mkdir -p "${raw}"
    COVERAGE_FILE="${raw}/.coverage" "${VENV_BIN}/pytest" "$@" -q \
        --junitxml="${REPORTS}/junit-${name}.xml" \
        --cov --cov-report= --cov-config="${ROOT}/pyproject.toml" \
        -o cache_dir="${ROOT}/.dev/pytest-cache-${name}" || status=$?
    if compgen -G "${raw}/.coverage*" >/dev/null; then
        "${VENV_BIN}/coverage" combine -q --data-file="${REPORTS}/.coverage.${name}" "${raw}"/.coverage* || true
    fi
    rm -rf "${raw}"
    return "${status}"
}

run_suites() {
    mkdir -p "${REPORTS}"
    rm -f "${REPORTS}"/junit-*.xml "${REPORTS}"/.coverage.* .coverage .coverage.*
    local status=0 suite
    for suite in libs/servicekit/tests user-service/tests room-service/tests reservation-service/tests; do
        echo "== pytest ${suite}"
        run_suite "$(basename "$(dirname "${suite}")")" "${suite}" || status=$?
    done
    if [[ -n "${kube_job}" ]]; then
        # Not beside the system tests: their waits have deadlines, and the build takes both cores.
        echo "== waiting for the kube-apiserver build to finish"
        wait "${kube_job}" || { echo "kube-apiserver build failed: ${REPORTS}/kube-build.log"; status=1; }
        kube_job=""
    fi
    if command -v podman >/dev/null 2>&1; then
        # The images (tests/test_images_run.py runs them) are built here, on both cores, before the lanes
        # start: on a fresh machine that takes minutes, which would slow the other lane's deadline tests.
        echo "== images: scripts/images.sh (seconds when nothing changed; log ${REPORTS}/images.log)"
        scripts/images.sh >"${REPORTS}/images.log" 2>&1 || echo "images.sh failed: tests/test_images_run.py will say why"
    fi
    echo "== pytest tests (the system tests, in two lanes; the second lane's output follows the first's)"
    local second_log="${REPORTS}/system-second-lane.log" second_lane second_status=0 ignored=()
    for suite in "${SYSTEM_SECOND_LANE[@]}"; do ignored+=("--ignore=${suite}"); done
    run_suite system-second-lane "${SYSTEM_SECOND_LANE[@]}" >"${second_log}" 2>&1 &
    second_lane=$!
    run_suite system tests "${ignored[@]}" || status=$?
    wait "${second_lane}" || second_status=$?
    echo "== pytest ${SYSTEM_SECOND_LANE[*]} (the second lane)"
    cat "${second_log}"
    if ((second_status != 0)); then status="${second_status}"; fi
    suites_ran=1
    return "${status}"
}

# One closing line for the whole run, counted from every suite's JUnit report.
summarize() {
    "${VENV_BIN}/python" - "${REPORTS}"/junit-*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET

totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sys.argv[1:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, 0))
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"total: {passed} passed, {failed} failed, {totals['skipped']} skipped")
PY
}

main() {
    if [[ "${1:-}" == lint ]]; then
        lint
        return
    fi
    trap cleanup EXIT
    plan_servers
    start_servers &
    servers_job=$!
    # kube-apiserver, kubectl and helm for the chart install test: built once from the Go module proxy
    # (minutes) while lint and the first suites run; the test waits for the build's lock.
    if command -v go >/dev/null 2>&1 && ! scripts/kube/apiserver.sh build --check; then
        mkdir -p "${REPORTS}"
        echo "== building kube-apiserver, kubectl and helm in the background (log ${REPORTS}/kube-build.log)"
        scripts/kube/apiserver.sh build >"${REPORTS}/kube-build.log" 2>&1 &
        kube_job=$!
    fi
    lint
    # The web app: built for the gateway (the browser tests use it), then its own checks and unit tests.
    scripts/web.sh build
    scripts/web.sh check
    wait "${servers_job}"
    servers_job=""
    run_suites
    echo "== quality gate: line coverage of each service and servicekit, blocks shared between services"
    "${VENV_BIN}/python" scripts/quality/gate.py
    echo "== reports for SonarQube: coverage.xml, test-results.xml"
    ./run-sonar-scan.sh --report-only
}

main "$@"
