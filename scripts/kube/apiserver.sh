#!/usr/bin/env bash
# A real Kubernetes API server (etcd + kube-apiserver on loopback) and the Helm v3 CLI, for tests.
#
#   scripts/kube/apiserver.sh build                          build kube-apiserver, kubectl, helm once (cached)
#   scripts/kube/apiserver.sh build --check                  exit 1 when something is still to build
#   scripts/kube/apiserver.sh start DIR ETCD_PORT API_PORT   start both in DIR, wait for /readyz
#   scripts/kube/apiserver.sh stop DIR                       stop both (by the pids in DIR); no-op if down
#   scripts/kube/apiserver.sh paths                          print KUBE_APISERVER=... and HELM=...
#
# Debian has no kube-apiserver and `go install k8s.io/kubernetes/cmd/kube-apiserver@...` is refused
# (its go.mod has replace directives). So the build makes a tiny wrapper module that requires
# k8s.io/kubernetes at KUBE_VERSION with one `replace k8s.io/X => k8s.io/X v0.<minor>.<patch>` for
# every ./staging/src/k8s.io/X replace in that version's go.mod, then `go mod tidy` and `go build`.
# kubectl is built from the same module (the tests run helm/README.md's kubectl commands). The binaries
# go to .cache/kube/<version>/; Helm (`go install helm.sh/helm/v3/cmd/helm`)
# to .cache/kube/helm-<version>/helm. The Go build and module caches live in .cache/go, so a CI cache of
# .cache/ keeps them. A fresh build takes ~3-4 minutes on 2 cores; a second run is a file check.
#
# `start` runs etcd (Debian etcd-server, from scripts/bootstrap.sh) and kube-apiserver on 127.0.0.1 only,
# with a static token file, a service-account key pair and a kubeconfig at DIR/kubeconfig (user admin,
# group system:masters). Nothing else runs (no controller-manager, scheduler or kubelet): Pods stay
# Pending, but every object is stored, validated and admitted (Pod Security warnings included).
#
# KUBE_VERSION is the one Kubernetes version of the project: the kind node image and kubectl in
# .github/workflows/cicd.yml use the same one, and HELM_VERSION is the Helm release built against it
# (tests/test_chart_install.py checks both). Not 1.34.0: it warns "spec.SessionAffinity is ignored for
# headless services" for every headless Service (its own default), fixed in 1.35.
set -euo pipefail

readonly KUBE_VERSION="v1.35.0"
readonly HELM_VERSION="v3.20.2"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly CACHE="${ROOT}/.cache/kube"
readonly APISERVER_DIR="${CACHE}/${KUBE_VERSION}"
readonly APISERVER="${APISERVER_DIR}/kube-apiserver"
readonly KUBECTL="${APISERVER_DIR}/kubectl"
readonly HELM_DIR="${CACHE}/helm-${HELM_VERSION}"
readonly HELM="${HELM_DIR}/helm"
readonly ETCD="${ETCD:-/usr/bin/etcd}"

log() { printf 'apiserver.sh: %s\n' "$*" >&2; }
die() { printf 'apiserver.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    printf 'usage:\n' >&2
    grep '^#   scripts/' "${BASH_SOURCE[0]}" | sed 's/^#//' >&2
    exit 2
}

go_env() {
    export GOCACHE="${ROOT}/.cache/go/build" GOMODCACHE="${ROOT}/.cache/go/mod" GOFLAGS=-buildvcs=false
    export GOTOOLCHAIN=local CGO_ENABLED=0
}

build_kube() {
    local minor patch staging work gomod
    command -v go >/dev/null 2>&1 || die "go not found (needed to build kube-apiserver)"
    go_env
    IFS=. read -r _ minor patch <<<"${KUBE_VERSION#v}"
    staging="v0.${minor}.${patch}"
    work="${CACHE}/build-${KUBE_VERSION}"
    rm -rf "${work}"
    mkdir -p "${work}"
    log "building kube-apiserver and kubectl ${KUBE_VERSION} (wrapper module in ${work}; takes a few minutes)"
    gomod="$(cd "${work}" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" \
        | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -f "${gomod}" ]] || die "go mod download did not give k8s.io/kubernetes@${KUBE_VERSION}'s go.mod"
    {
        printf 'module kubeapiserverbuild\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\n' "${KUBE_VERSION}"
        # `k8s.io/api => ./staging/src/k8s.io/api` becomes `replace k8s.io/api => k8s.io/api v0.34.0`
        sed -n 's#^[[:space:]]*\(replace[[:space:]]\{1,\}\)\{0,1\}\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/src/.*#replace \2 => \2 '"${staging}"'#p' \
            "${gomod}"
    } >"${work}/go.mod"
    grep -q '^replace k8s.io/api ' "${work}/go.mod" || die "no staging replace lines found in ${gomod}"
    cat >"${work}/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
    (
        cd "${work}"
        go mod tidy
        local pkg=k8s.io/component-base/version binary
        for binary in kube-apiserver kubectl; do
            [[ -x "${APISERVER_DIR}/${binary}" ]] && continue
            go build -trimpath -o "${work}/${binary}" \
                -ldflags "-s -w -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean" \
                "k8s.io/kubernetes/cmd/${binary}"
        done
    )
    mkdir -p "${APISERVER_DIR}"
    for binary in kube-apiserver kubectl; do
        if [[ -x "${work}/${binary}" ]]; then
            mv "${work}/${binary}" "${APISERVER_DIR}/${binary}.tmp"
            mv "${APISERVER_DIR}/${binary}.tmp" "${APISERVER_DIR}/${binary}"
        fi
    done
    rm -rf "${work}"
    log "built ${APISERVER} and ${KUBECTL}"
}

build_helm() {
    command -v go >/dev/null 2>&1 || die "go not found (needed to build helm)"
    go_env
    log "building helm ${HELM_VERSION}"
    rm -rf "${HELM_DIR}.tmp"
    mkdir -p "${HELM_DIR}.tmp"
    GOBIN="${HELM_DIR}.tmp" go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
        "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
    rm -rf "${HELM_DIR}"
    mv "${HELM_DIR}.tmp" "${HELM_DIR}"
    log "built ${HELM}"
}

cmd_build() {
    if [[ "${1:-}" == --check ]]; then
        [[ -x "${APISERVER}" && -x "${KUBECTL}" && -x "${HELM}" ]]
        return
    fi
    [[ -x "${APISERVER}" && -x "${KUBECTL}" && -x "${HELM}" ]] && return 0
    mkdir -p "${CACHE}"
    # One build at a time (bootstrap and a test may both ask).
    exec 8>"${CACHE}/.lock"
    flock 8
    [[ -x "${APISERVER}" && -x "${KUBECTL}" ]] || build_kube
    [[ -x "${HELM}" ]] || build_helm
}

check_port() {
    if ! [[ "$1" =~ ^[0-9]{1,5}$ ]] || ((10#$1 < 1 || 10#$1 > 65535)); then
        die "invalid port: $1"
    fi
}

wait_ready() {
    local url=$1 deadline=$((SECONDS + 60)) pid=$2 name=$3 log_file=$4
    shift 4
    until curl -fsS "$@" "${url}" >/dev/null 2>&1; do
        if ! kill -0 "${pid}" 2>/dev/null; then
            tail -n 30 "${log_file}" >&2 || true
            die "${name} exited; log: ${log_file}"
        fi
        ((SECONDS < deadline)) || { tail -n 30 "${log_file}" >&2; die "${name} not ready after 60 s"; }
        sleep 0.2
    done
}

cmd_start() {
    (($# == 3)) || usage
    local dir=$1 etcd_port=$2 api_port=$3 token
    check_port "${etcd_port}"
    check_port "${api_port}"
    [[ -x "${APISERVER}" ]] || die "${APISERVER} not built; run scripts/kube/apiserver.sh build"
    [[ -x "${ETCD}" ]] || die "${ETCD} not found; run scripts/bootstrap.sh (Debian etcd-server)"
    cmd_stop "${dir}" 2>/dev/null || true
    rm -rf "${dir}"
    mkdir -p "${dir}/pki"
    dir="$(cd "${dir}" && pwd)"

    # etcd's peer port is not used by a single member but is still bound: keep it on a free ephemeral port.
    ETCD_UNSUPPORTED_ARCH="" "${ETCD}" --name test --data-dir "${dir}/etcd" \
        --listen-client-urls "http://127.0.0.1:${etcd_port}" \
        --advertise-client-urls "http://127.0.0.1:${etcd_port}" \
        --listen-peer-urls "http://127.0.0.1:0" \
        --unsafe-no-fsync --log-level error >"${dir}/etcd.log" 2>&1 </dev/null &
    echo $! >"${dir}/etcd.pid"
    wait_ready "http://127.0.0.1:${etcd_port}/health" "$(cat "${dir}/etcd.pid")" etcd "${dir}/etcd.log"

    openssl genrsa -out "${dir}/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "${dir}/pki/sa.key" -pubout -out "${dir}/pki/sa.pub" 2>/dev/null
    token="$(openssl rand -hex 24)"
    printf '%s,admin,admin,system:masters\n' "${token}" >"${dir}/pki/tokens.csv"

    "${APISERVER}" \
        --etcd-servers="http://127.0.0.1:${etcd_port}" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="${api_port}" \
        --cert-dir="${dir}/pki" \
        --service-cluster-ip-range=10.96.0.0/16 \
        --token-auth-file="${dir}/pki/tokens.csv" \
        --authorization-mode=RBAC \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="${dir}/pki/sa.pub" \
        --service-account-signing-key-file="${dir}/pki/sa.key" \
        --enable-priority-and-fairness=false \
        --profiling=false \
        >"${dir}/apiserver.log" 2>&1 </dev/null &
    echo $! >"${dir}/apiserver.pid"
    wait_ready "https://127.0.0.1:${api_port}/readyz" "$(cat "${dir}/apiserver.pid")" kube-apiserver \
        "${dir}/apiserver.log" -k -H "Authorization: Bearer ${token}"

    cat >"${dir}/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:${api_port}
      certificate-authority: ${dir}/pki/apiserver.crt
users:
  - name: admin
    user:
      token: ${token}
contexts:
  - name: test
    context: {cluster: test, user: admin}
current-context: test
EOF
    chmod 600 "${dir}/kubeconfig"
    log "kube-apiserver ${KUBE_VERSION} ready on https://127.0.0.1:${api_port} (kubeconfig ${dir}/kubeconfig)"
}

stop_pid() {
    local pid_file=$1 signal=$2 pid i
    [[ -f "${pid_file}" ]] || return 0
    pid="$(cat "${pid_file}")"
    if kill -0 "${pid}" 2>/dev/null; then
        kill "-${signal}" "${pid}" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            # Gone, or a zombie waiting for whoever adopted it to reap it.
            [[ "$(ps -o stat= -p "${pid}" 2>/dev/null)" == [^Z]* ]] || break
            sleep 0.1
        done
        kill -KILL "${pid}" 2>/dev/null || true
    fi
    rm -f "${pid_file}"
}

cmd_stop() {
    (($# == 1)) || usage
    # The API server keeps nothing of its own (etcd holds the data, thrown away too): no graceful stop.
    stop_pid "$1/apiserver.pid" KILL
    stop_pid "$1/etcd.pid" TERM
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    case "${cmd}" in
        build) cmd_build "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        paths) printf 'KUBE_VERSION=%s\nKUBE_APISERVER=%s\nKUBECTL=%s\nHELM=%s\nHELM_VERSION=%s\n' \
            "${KUBE_VERSION}" "${APISERVER}" "${KUBECTL}" "${HELM}" "${HELM_VERSION}" ;;
        *) usage ;;
    esac
}

main "$@"
