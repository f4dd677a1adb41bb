#!/usr/bin/env bash
# Installs everything the project needs on a Debian 12 machine, idempotently.
#
#   scripts/bootstrap.sh
#
# - Debian packages postgresql-15, postgresql-contrib-15 (btree_gist) and nginx,
#   and Java 17 + Maven, each only when missing (apt-get update runs at most once).
# - podman, buildah, runc and mmdebstrap for `make images` (scripts/images.sh), when missing.
# - The virtualenv .venv (Python 3.11) with requirements-dev.txt, reinstalled only
#   when a requirement file changed (hash kept in .venv/.requirements.sha256). Installed
#   by uv (pinned below; its downloads cached in .cache/uv): a fresh install takes
#   seconds where pip took minutes.
# - The Apache Kafka broker jars in .cache/kafka/$KAFKA_VERSION/libs (Maven Central).
#
# The system packages / Kafka jars are fetched in parallel with the Python install.
# Output of each step goes to .cache/bootstrap/<step>.log and is shown on failure.
# A warm run (everything present) only checks files and takes well under a second.
#
# Environment:
#   PYTHON               interpreter for a new .venv (default: python3.11, else python3)
#   BOOTSTRAP_FORCE_APT  1 = run the apt-get step even if everything looks installed
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

readonly KAFKA_VERSION="4.1.1"
readonly KAFKA_DIR=".cache/kafka/${KAFKA_VERSION}"
readonly VENV=".venv"
readonly UV_VERSION="0.13.9"
readonly UV_CACHE=".cache/uv"
readonly REQ_HASH_FILE="${VENV}/.requirements.sha256"
readonly LOG_DIR=".cache/bootstrap"
readonly PG_BIN_DIR="/usr/lib/postgresql/15/bin"
readonly BTREE_GIST_CONTROL="/usr/share/postgresql/15/extension/btree_gist.control"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# nginx lives in /usr/sbin, which is not on a non-root user's PATH.
have_nginx() { have nginx || [[ -x /usr/sbin/nginx ]]; }

as_root() {
    if [[ ${EUID} -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo -- "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------
APT_PACKAGES=()
NEED_JAVA=0

check_system_packages() {
    if [[ "${BOOTSTRAP_FORCE_APT:-0}" == 1 ]] \
        || [[ ! -x "${PG_BIN_DIR}/postgres" ]] \
        || [[ ! -f "${BTREE_GIST_CONTROL}" ]] \
        || ! have_nginx; then
        APT_PACKAGES+=(postgresql-15 postgresql-contrib-15 nginx)
    fi
    if ! have java || ! have mvn; then
        NEED_JAVA=1
        APT_PACKAGES+=(openjdk-17-jre-headless maven)
    fi
    # Headless Chromium and its driver, for the sign-in test a real browser runs.
    if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
        APT_PACKAGES+=(chromium chromium-driver)
    fi
    # make images: podman and buildah with runc, and mmdebstrap for the stand-in base images.
    if ! have podman || ! have buildah || ! { have runc || [[ -x /usr/sbin/runc ]]; } || ! have mmdebstrap; then
        APT_PACKAGES+=(podman buildah runc mmdebstrap)
    fi
    # etcd for the Kubernetes API server of tests/test_chart_install.py (scripts/kube/apiserver.sh).
    if [[ ! -x /usr/bin/etcd ]]; then
        APT_PACKAGES+=(etcd-server)
    fi
    # promtool (alert rule tests) and a Pushgateway (the backup and restore-drill results) for the monitoring tests.
    if ! have promtool || [[ ! -x /usr/bin/prometheus-pushgateway ]]; then
        APT_PACKAGES+=(prometheus prometheus-pushgateway)
    fi
}

install_system_packages() {
    log "installing Debian packages: ${APT_PACKAGES[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
    [[ -x "${PG_BIN_DIR}/postgres" ]] || die "${PG_BIN_DIR}/postgres still missing after apt-get install"
    [[ -f "${BTREE_GIST_CONTROL}" ]] || die "${BTREE_GIST_CONTROL} still missing after apt-get install"
    have_nginx || die "nginx still missing after apt-get install"
    have java || die "java still missing after apt-get install"
    have mvn || die "mvn still missing after apt-get install"
    [[ -x /usr/bin/chromedriver ]] || die "chromedriver still missing after apt-get install"
}

check_java_version() {
    # Kafka 4.x needs Java 17+. `java -version` prints e.g. 'openjdk version "17.0.15" ...'.
    local line major
    line="$(java -version 2>&1 | head -n 1)"
    major="$(sed -E 's/^[^"]*"(1\.)?([0-9]+).*/\2/' <<<"${line}")"
    if ! [[ "${major}" =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Java 17 or newer is required for Kafka (found: ${line})"
    fi
}

# ---------------------------------------------------------------------------
# Kafka jars
# ---------------------------------------------------------------------------
fetch_kafka() {
    log "fetching Kafka ${KAFKA_VERSION} jars into ${KAFKA_DIR}/libs (Maven)"
    have mvn || die "mvn not found"
    check_java_version
    local tmp="${KAFKA_DIR}/libs.tmp.$$"
    rm -rf "${tmp}"
    mkdir -p "${KAFKA_DIR}"
    mvn -B -q -Dstyle.color=never -f scripts/kafka/pom.xml dependency:copy-dependencies \
        -DoutputDirectory="${ROOT}/${tmp}" -DincludeScope=runtime
    compgen -G "${tmp}/kafka_2.13-${KAFKA_VERSION}.jar" >/dev/null \
        || die "kafka_2.13-${KAFKA_VERSION}.jar missing after mvn dependency:copy-dependencies"
    compgen -G "${tmp}/log4j-slf4j-impl-*.jar" >/dev/null \
        || die "log4j-slf4j-impl jar missing after mvn dependency:copy-dependencies"
    rm -rf "${KAFKA_DIR}/libs"
    mv "${tmp}" "${KAFKA_DIR}/libs"
    touch "${KAFKA_DIR}/.complete"
}

# ---------------------------------------------------------------------------
# Python virtualenv
# ---------------------------------------------------------------------------
requirement_files() {
    local f
    shopt -s nullglob
    for f in requirements-dev.txt ./*/requirements.txt libs/*/pyproject.toml ./*-service/pyproject.toml; do
        printf '%s\n' "${f#./}"
    done | LC_ALL=C sort -u
    shopt -u nullglob
}

requirements_hash() {
    local files=()
    mapfile -t files < <(requirement_files)
    # The file names are part of the hash (sha256sum prints them), and so is the
    # venv's Python version: a new interpreter means a new venv anyway.
    {
        sha256sum -- "${files[@]}"
        if [[ -x "${VENV}/bin/python" ]]; then "${VENV}/bin/python" -V 2>&1; fi
    } | sha256sum | cut -d' ' -f1
}

pick_python() {
    local candidate
    for candidate in ${PYTHON:+"${PYTHON}"} python3.11 python3; do
        if have "${candidate}" \
            && "${candidate}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            printf '%s\n' "${candidate}"
            return 0
        fi
    done
    return 1
}

venv_ok() {
    [[ -x "${VENV}/bin/python" ]] && "${VENV}/bin/python" -c 'import sys' >/dev/null 2>&1
}

install_python_requirements() {
    local python
    if ! venv_ok; then
        python="$(pick_python)" || die "Python 3.11 not found (set PYTHON=/path/to/python3.11)"
        log "creating ${VENV} with $("${python}" -V 2>&1)"
        rm -rf "${VENV}"
        "${python}" -m venv "${VENV}"
    fi
    log "installing Python requirements (uv pip install -r requirements-dev.txt)"
    rm -f "${REQ_HASH_FILE}"
    "${VENV}/bin/python" -m pip install --disable-pip-version-check -q "uv==${UV_VERSION}"
    # Compiled now, as pip would: with PYTHONDONTWRITEBYTECODE set, every process would compile its imports anew.
    UV_CACHE_DIR="${UV_CACHE}" "${VENV}/bin/uv" pip install --python "${VENV}/bin/python" --compile-bytecode -q \
        -r requirements-dev.txt
    # Hash after the install: the venv may have just been (re)created.
    requirements_hash >"${REQ_HASH_FILE}"
}

# ---------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------
JOB_PIDS=()
JOB_NAMES=()

start_job() {
    local name=$1
    shift
    log "${name}: running in the background (log ${LOG_DIR}/${name}.log)"
    "$@" >"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
    JOB_PIDS+=("$!")
    JOB_NAMES+=("${name}")
}

wait_jobs() {
    local i failed=0
    for i in "${!JOB_PIDS[@]}"; do
        if wait "${JOB_PIDS[i]}"; then
            log "${JOB_NAMES[i]}: done"
        else
            failed=1
            log "${JOB_NAMES[i]}: FAILED, last lines of ${LOG_DIR}/${JOB_NAMES[i]}.log:"
            tail -n 40 "${LOG_DIR}/${JOB_NAMES[i]}.log" | sed 's/^/    /' >&2
        fi
    done
    return "${failed}"
}

system_job() {
    install_system_packages
    if ((NEED_JAVA)) && [[ ! -f "${KAFKA_DIR}/.complete" ]]; then
        fetch_kafka
    fi
}

main() {
    [[ -f requirements-dev.txt ]] \
        || die "${ROOT}/requirements-dev.txt is missing; it lists the Python dev requirements to install"

    mkdir -p "${LOG_DIR}"
    # Serialize concurrent bootstraps (e.g. two make targets at once).
    if have flock; then
        exec 9>"${LOG_DIR}/.lock"
        flock 9
    fi

    check_system_packages

    if ((${#APT_PACKAGES[@]})); then
        # Maven may come from apt: then the Kafka fetch runs after it in the same job.
        start_job system system_job
    fi
    if ! ((NEED_JAVA)) && [[ ! -f "${KAFKA_DIR}/.complete" ]]; then
        start_job kafka fetch_kafka
    fi
    if ! scripts/quality/install-tools.sh --check; then
        start_job tools scripts/quality/install-tools.sh
    fi
    # kube-apiserver, kubectl and helm (tests/test_chart_install.py) are built by `make test` beside its
    # first suites, not here: `make run` does not need them, and the build takes minutes.
    if ! venv_ok || [[ ! -f "${REQ_HASH_FILE}" ]] || [[ "$(requirements_hash)" != "$(cat "${REQ_HASH_FILE}")" ]]; then
        start_job python install_python_requirements
    fi

    if ((${#JOB_PIDS[@]} == 0)); then
        log "everything up to date"
        return 0
    fi
    wait_jobs || die "some steps failed (logs in ${ROOT}/${LOG_DIR})"
    log "ok"
}

main "$@"
