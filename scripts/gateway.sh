#!/usr/bin/env bash
# The API gateway (NGINX) for development and tests.
#
#   scripts/gateway.sh run CONF_FILE RUN_DIR [ERROR_LOG]    foreground (for a process runner)
#   scripts/gateway.sh test CONF_FILE RUN_DIR [ERROR_LOG]   nginx -t: check the configuration
#
# CONF_FILE comes from scripts/render_gateway.py (with the same RUN_DIR); it has
# `daemon off;`, its own pid file, logs and temp dirs. ERROR_LOG (default:
# stderr) is where NGINX reports errors before it has read CONF_FILE, instead of
# its compiled-in /var/log/nginx/error.log.
set -euo pipefail

die() { printf 'gateway.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    printf 'usage:\n' >&2
    grep '^#   scripts/' "${BASH_SOURCE[0]}" | sed 's/^#//' >&2
    exit 2
}

find_nginx() {
    if command -v nginx >/dev/null 2>&1; then
        command -v nginx
    elif [[ -x /usr/sbin/nginx ]]; then
        printf '%s\n' /usr/sbin/nginx
    else
        die "nginx not found; run scripts/bootstrap.sh"
    fi
}

abspath() {
    local dir
    dir="$(cd "$(dirname "$1")" && pwd)"
    printf '%s/%s\n' "${dir%/}" "$(basename "$1")"
}

main() {
    (($# >= 3 && $# <= 4)) || usage
    local cmd=$1 conf=$2 run_dir=$3 error_log=${4:-stderr} nginx
    [[ -f "${conf}" ]] || die "no such file: ${conf} (render it with scripts/render_gateway.py)"
    conf="$(abspath "${conf}")"
    mkdir -p "${run_dir}"
    run_dir="$(abspath "${run_dir}")"
    nginx="$(find_nginx)"
    case "${cmd}" in
        run) exec "${nginx}" -p "${run_dir}/" -c "${conf}" -e "${error_log}" ;;
        test) exec "${nginx}" -t -q -p "${run_dir}/" -c "${conf}" -e "${error_log}" ;;
        *) usage ;;
    esac
}

main "$@"
