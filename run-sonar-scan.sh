#!/usr/bin/env bash
# Analyse this repository with SonarQube (by default the local server of sonarqube/docker-compose.yml).
#
#   ./run-sonar-scan.sh                  merge the reports of the last `make test` (if any), then scan
#   ./run-sonar-scan.sh --with-tests     the same, but run the test suites first when they left no reports
#   ./run-sonar-scan.sh --report-only    only write coverage.xml and test-results.xml; no server, no scanner
#   SONAR_TOKEN=your_token ./run-sonar-scan.sh
#   ./run-sonar-scan.sh --help
#
# Environment:
#   SONAR_TOKEN          analysis token (SonarQube: My Account > Security > Generate Tokens); needed to scan
#   SONAR_HOST_URL       the server (default http://localhost:9000); a local one is started if it is down
#   SONAR_SCANNER_IMAGE  scanner image used when `sonar-scanner` is not on PATH
#                        (default sonarsource/sonar-scanner-cli:11.3)
#   SONAR_WAIT_SECONDS   how long to wait for a starting server (default 300)
#   PYTHON               interpreter with coverage.py for merging the reports (default .venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${ROOT}"

readonly COMPOSE_FILE="sonarqube/docker-compose.yml"
readonly REPORTS=".dev/reports"
readonly MIN_MAP_COUNT=524288
SONAR_HOST_URL="${SONAR_HOST_URL:-http://localhost:9000}"
SONAR_SCANNER_IMAGE="${SONAR_SCANNER_IMAGE:-sonarsource/sonar-scanner-cli:11.3}"
SONAR_WAIT_SECONDS="${SONAR_WAIT_SECONDS:-300}"
export SONAR_HOST_URL

phase=""

log() { printf 'run-sonar-scan: %s\n' "$*" >&2; }
die() {
    printf 'run-sonar-scan: ERROR: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# What to look at when a step fails, for the step that failed.
hints() {
    printf '\nrun-sonar-scan: troubleshooting (%s failed)\n' "${phase}" >&2
    case "${phase}" in
        reports)
            cat >&2 <<EOF
  - The reports come from \`make test\` (${REPORTS}/.coverage.<suite>, junit-<suite>.xml); run it first.
  - Merging needs the project's virtualenv (.venv, made by \`make bootstrap\`) for coverage.py.
EOF
            ;;
        tests)
            cat >&2 <<EOF
  - \`make test\` failed: its output above names the failing suite. Reports it wrote are still merged
    if you run ./run-sonar-scan.sh again.
EOF
            ;;
        server)
            cat >&2 <<EOF
  - SonarQube's Elasticsearch needs vm.max_map_count >= ${MIN_MAP_COUNT}: sudo sysctl -w vm.max_map_count=${MIN_MAP_COUNT}
    (persist it in /etc/sysctl.d/99-sonarqube.conf), and at least 4 GB of memory for Docker.
  - Logs: docker compose -f ${COMPOSE_FILE} logs sonarqube
  - Docker permission denied: add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again).
  - Port 9000 taken: SONARQUBE_PORT=9001 docker compose -f ${COMPOSE_FILE} up -d, and SONAR_HOST_URL=http://localhost:9001.
EOF
            ;;
        scan)
            cat >&2 <<EOF
  - 401 / "Not authorized": the token is wrong or expired. First login is admin/admin (you must change it),
    then My Account > Security > Generate Tokens, and SONAR_TOKEN=your_token ./run-sonar-scan.sh
  - "QUALITY GATE STATUS: FAILED": the analysis worked; the project page on ${SONAR_HOST_URL} says which condition failed.
  - "Invalid value of sonar.projectKey" or missing files: run from a full checkout; settings are in sonar-project.properties.
EOF
            ;;
    esac
}

on_exit() {
    local status=$?
    if ((status != 0)) && [[ -n "${phase}" ]]; then hints; fi
}

have_reports() {
    compgen -G "${REPORTS}/.coverage.*" >/dev/null && compgen -G "${REPORTS}/junit-*.xml" >/dev/null
}

python_bin() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "${PYTHON}"
    elif [[ -x .venv/bin/python ]]; then
        echo .venv/bin/python
    else
        echo python3
    fi
}

merge_reports() {
    phase=reports
    "$(python_bin)" scripts/quality/reports.py --root "${ROOT}"
    phase=""
}

run_tests() {
    phase=tests
    log "running the test suites with coverage (make test)"
    make test
    phase=""
}

server_up() {
    curl -fsS --max-time 5 "${SONAR_HOST_URL}/api/system/status" 2>/dev/null | grep -q '"status":"UP"'
}

is_local_server() {
    [[ "${SONAR_HOST_URL}" =~ ^https?://(localhost|127\.0\.0\.1)(:[0-9]+)?/?$ ]]
}

compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose -f "${COMPOSE_FILE}" "$@"
    elif have docker-compose; then
        docker-compose -f "${COMPOSE_FILE}" "$@"
    else
        die "neither 'docker compose' nor 'docker-compose' is installed"
    fi
}

# Elasticsearch inside SonarQube refuses to start below the limit. Raise it only when we may.
check_max_map_count() {
    local current
    if [[ ! -r /proc/sys/vm/max_map_count ]]; then
        log "cannot read vm.max_map_count here (Docker Desktop sets it in its own VM); continuing"
        return 0
    fi
    current="$(cat /proc/sys/vm/max_map_count)"
    if ((current >= MIN_MAP_COUNT)); then
        return 0
    fi
    if [[ ${EUID} -eq 0 ]]; then
        log "raising vm.max_map_count from ${current} to ${MIN_MAP_COUNT}"
        sysctl -q -w "vm.max_map_count=${MIN_MAP_COUNT}"
    elif have sudo && sudo -n true 2>/dev/null; then
        log "raising vm.max_map_count from ${current} to ${MIN_MAP_COUNT} (sudo)"
        sudo -n sysctl -q -w "vm.max_map_count=${MIN_MAP_COUNT}"
    else
        die "vm.max_map_count is ${current}, SonarQube needs ${MIN_MAP_COUNT}: sudo sysctl -w vm.max_map_count=${MIN_MAP_COUNT}"
    fi
}

ensure_server() {
    phase=server
    if server_up; then
        log "SonarQube is up at ${SONAR_HOST_URL}"
        phase=""
        return 0
    fi
    is_local_server || die "SonarQube at ${SONAR_HOST_URL} does not answer UP on /api/system/status"
    have docker || die "docker is not installed: start SonarQube yourself or set SONAR_HOST_URL"
    check_max_map_count
    log "starting SonarQube (${COMPOSE_FILE})"
    compose up -d
    local waited=0
    until server_up; do
        ((waited < SONAR_WAIT_SECONDS)) || die "SonarQube not UP after ${SONAR_WAIT_SECONDS} s"
        sleep 5
        waited=$((waited + 5))
    done
    log "SonarQube is up at ${SONAR_HOST_URL} (first start: log in as admin/admin and create a token)"
    phase=""
}

run_scanner() {
    phase=scan
    [[ -n "${SONAR_TOKEN:-}" ]] || die "SONAR_TOKEN is not set: create a token in SonarQube (My Account > Security), then SONAR_TOKEN=your_token $0"
    export SONAR_TOKEN
    local args=(-Dsonar.qualitygate.wait=true -Dsonar.qualitygate.timeout=300)
    if have sonar-scanner; then
        sonar-scanner "${args[@]}"
    else
        have docker || die "neither sonar-scanner nor docker is installed"
        # The token travels in the environment, never on a command line; the scanner's work
        # folder stays inside the container so the checkout's ownership does not matter.
        docker run --rm --network host -e SONAR_HOST_URL -e SONAR_TOKEN \
            -v "${ROOT}:/usr/src" -w /usr/src "${SONAR_SCANNER_IMAGE}" \
            "${args[@]}" -Dsonar.working.directory=/tmp/scannerwork
    fi
    phase=""
    log "done: ${SONAR_HOST_URL}/dashboard?id=meeting-room-reservation-system"
}

main() {
    local with_tests=0 report_only=0
    while (($#)); do
        case "$1" in
            --with-tests) with_tests=1 ;;
            --report-only) report_only=1 ;;
            -h | --help)
                usage
                return 0
                ;;
            *) die "unknown option $1 (see --help)" ;;
        esac
        shift
    done
    trap on_exit EXIT

    if ((report_only)); then
        merge_reports
        return 0
    fi
    if ((with_tests)) && ! have_reports; then
        run_tests
    elif ((with_tests)); then
        log "reusing the reports of the last make test in ${REPORTS} (delete it to run the tests again)"
    fi
    if have_reports; then
        merge_reports
    else
        log "no test reports in ${REPORTS}: analysing without coverage (use --with-tests, or run make test first)"
    fi
    ensure_server
    run_scanner
}

main "$@"
