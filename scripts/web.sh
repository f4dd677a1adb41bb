#!/usr/bin/env bash
# The web app (web/): installed from its lockfile and built only when its inputs changed.
#
#   scripts/web.sh build   npm ci (when package-lock.json changed), then vite build into web/dist (when
#                          the sources changed); the gateway serves web/dist
#   scripts/web.sh check   the type check, eslint, the prettier check and the unit tests (vitest)
#
# npm's download cache is .cache/npm, so a fresh web/node_modules installs without the network.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="${ROOT}/web"
NODE_MAJOR_MIN=20
NODE_MINOR_MIN=19

die() { printf 'web.sh: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'web.sh: %s\n' "$*"; }

require_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        die "Node.js ${NODE_MAJOR_MIN}.${NODE_MINOR_MIN}+ with npm is needed to build the web app"
    fi
    local version major minor
    version="$(node --version)"
    version="${version#v}"
    major="${version%%.*}"
    minor="${version#*.}"
    minor="${minor%%.*}"
    if ((major < NODE_MAJOR_MIN || (major == NODE_MAJOR_MIN && minor < NODE_MINOR_MIN))); then
        die "Node.js ${version} is too old for Vite: ${NODE_MAJOR_MIN}.${NODE_MINOR_MIN}+ is needed"
    fi
}

digest() { sha256sum | cut -c1-64; }

install() {
    local want have=""
    want="$(digest <"${WEB}/package-lock.json")"
    [[ -f "${WEB}/node_modules/.lock-digest" ]] && have="$(cat "${WEB}/node_modules/.lock-digest")"
    if [[ "${want}" != "${have}" ]]; then
        log "npm ci (package-lock.json changed)"
        (cd "${WEB}" && npm ci --no-audit --no-fund --cache "${ROOT}/.cache/npm" --prefer-offline --loglevel=error)
        printf '%s\n' "${want}" >"${WEB}/node_modules/.lock-digest"
    fi
}

build() {
    install
    local want have=""
    want="$(cd "${WEB}" && find src index.html vite.config.ts tsconfig.json package-lock.json -type f -print0 \
        | sort -z | xargs -0 sha256sum | digest)"
    [[ -f "${WEB}/dist/.source-digest" ]] && have="$(cat "${WEB}/dist/.source-digest")"
    if [[ "${want}" != "${have}" || ! -f "${WEB}/dist/index.html" ]]; then
        log "vite build"
        (cd "${WEB}" && npx --no-install vite build --logLevel warn)
        printf '%s\n' "${want}" >"${WEB}/dist/.source-digest"
    fi
}

check() {
    install
    cd "${WEB}"
    echo "== web: tsc"
    npx --no-install tsc --noEmit
    echo "== web: eslint"
    npx --no-install eslint --max-warnings 0 .
    echo "== web: prettier --check"
    npx --no-install prettier --check --log-level warn .
    echo "== web: vitest"
    npx --no-install vitest run
}

main() {
    require_node
    case "${1:-}" in
        build) build ;;
        check) check ;;
        *) die "usage: scripts/web.sh build|check" ;;
    esac
}

main "$@"
