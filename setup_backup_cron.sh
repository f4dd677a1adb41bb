#!/usr/bin/env bash
# Schedules ./backup.sh with cron: an interactive menu, or the same choices as flags.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_NAME="setup_backup_cron.sh"

usage() {
    cat <<'EOF'
Usage: ./setup_backup_cron.sh [--hourly | --daily | --weekly | --custom 'CRON EXPRESSION' | --remove | --show]
                              [--at HH:MM] [--help]

Without an option, a menu asks for the schedule. Installs one crontab line that runs ./backup.sh
from this project, with its output appended to LOG_DIR/cron_backup.log. Installing again replaces
that line (never a second one); --remove deletes it and nothing else. Each project directory has
its own line, marked "# meeting-room-backup:<project directory>". Cron times are the machine's
local time.

Options:
  --hourly              every hour, at minute MM of --at (default 0)
  --daily               every day at --at (default 02:00)
  --weekly              every Sunday at --at (default 02:00)
  --custom 'EXPR'       five cron fields, e.g. '30 1 * * 1-5', or @daily, @hourly, ...
  --at HH:MM            the time of day for --daily and --weekly, the minute for --hourly
  --remove              remove this project's backup line
  --show                print this project's backup line, if any
  -h, --help            show this help

Settings (environment):
  LOG_DIR         where cron_backup.log goes (<project>/logs)
  CRONTAB_FILE    edit this file (in crontab format) instead of the user's crontab, e.g. in tests
The backup itself reads config/aws-config.sh for its settings (see ./backup.sh --help).
EOF
}

usage_error() {
    printf '%s: %s (see --help)\n' "${SCRIPT_NAME}" "$*" >&2
    exit 2
}
die() {
    printf '%s: ERROR: %s\n' "${SCRIPT_NAME}" "$*" >&2
    exit 1
}

MARKER="# meeting-room-backup:${ROOT}"
ACTION=""
SCHEDULE=""
AT=""

set_action() {
    [[ -z "${ACTION}" ]] || usage_error "choose one of --hourly, --daily, --weekly, --custom, --remove, --show"
    ACTION=$1
}

parse_args() {
    while (($#)); do
        case "$1" in
            --hourly | --daily | --weekly) set_action "${1#--}" ;;
            --remove | --show) set_action "${1#--}" ;;
            --custom)
                (($# >= 2)) || usage_error "--custom needs a cron expression"
                set_action custom
                SCHEDULE=$2
                shift
                ;;
            --at)
                (($# >= 2)) || usage_error "--at needs HH:MM"
                AT=$2
                shift
                ;;
            -h | --help) usage; exit 0 ;;
            *) usage_error "unknown argument: $1" ;;
        esac
        shift
    done
}

# Sets SCHEDULE from ACTION and AT.
build_schedule() {
    local hour=2 minute=0
    if [[ -n "${AT}" ]]; then
        [[ "${AT}" =~ ^([01]?[0-9]|2[0-3]):([0-5][0-9])$ ]] || usage_error "--at takes HH:MM (00:00 to 23:59), not '${AT}'"
        hour=$((10#${BASH_REMATCH[1]}))
        minute=$((10#${BASH_REMATCH[2]}))
    fi
    case "${ACTION}" in
        hourly) SCHEDULE="${minute} * * * *" ;;
        daily) SCHEDULE="${minute} ${hour} * * *" ;;
        weekly) SCHEDULE="${minute} ${hour} * * 0" ;;
        custom) valid_expression "${SCHEDULE}" || usage_error "not a cron expression: '${SCHEDULE}'" ;;
    esac
}

valid_expression() {
    local expression=$1 field
    local -a fields
    [[ "${expression}" =~ ^@(hourly|daily|weekly|monthly|yearly|annually|midnight)$ ]] && return 0
    read -r -a fields <<<"${expression}"
    ((${#fields[@]} == 5)) || return 1
    for field in "${fields[@]}"; do
        [[ "${field}" =~ ^([0-9*]|[A-Za-z]{3})[0-9A-Za-z*/,-]*$ ]] || return 1
    done
}

menu() {
    cat <<'EOF'
Backup schedule for ./backup.sh:
  1) hourly   (every hour, on the hour)
  2) daily    (every day at 02:00)
  3) weekly   (Sundays at 02:00)
  4) custom   (a cron expression of your own)
  5) remove   (delete the scheduled backup)
  6) quit
EOF
    local choice
    read -r -p "Choice [1-6]: " choice || die "no choice read"
    case "${choice}" in
        1) ACTION=hourly ;;
        2) ACTION=daily ;;
        3) ACTION=weekly ;;
        4)
            ACTION=custom
            read -r -p "Cron expression (minute hour day month weekday): " SCHEDULE || die "no expression read"
            ;;
        5) ACTION=remove ;;
        6) exit 0 ;;
        *) die "unknown choice: '${choice}'" ;;
    esac
}

read_crontab() {
    if [[ -n "${CRONTAB_FILE:-}" ]]; then
        if [[ -f "${CRONTAB_FILE}" ]]; then cat "${CRONTAB_FILE}"; fi
        return 0
    fi
    command -v crontab >/dev/null 2>&1 || die "crontab not found: install cron (apt-get install cron)"
    crontab -l 2>/dev/null || true # no crontab yet
}

write_crontab() {
    if [[ -n "${CRONTAB_FILE:-}" ]]; then
        local tmp
        tmp="$(mktemp "${CRONTAB_FILE}.XXXXXX")"
        cat >"${tmp}"
        mv "${tmp}" "${CRONTAB_FILE}"
    else
        crontab -
    fi
}

# This project's line ends with its marker; a project in a subdirectory has a longer one.
ours() { awk -v marker=" ${MARKER}" -v keep="$1" '(substr($0, length($0) - length(marker) + 1) == marker) == keep'; }
other_lines() { read_crontab | ours 0; }
current_line() { read_crontab | ours 1 | tail -n 1; }

main() {
    parse_args "$@"
    [[ -n "${ACTION}" ]] || menu
    case "${ROOT}" in *%* | *$'\n'*) die "the project path must not contain % or a newline (cron treats them specially)" ;; esac
    local log_dir="${LOG_DIR:-${ROOT}/logs}" line existing
    case "${ACTION}" in
        show)
            current_line
            return 0
            ;;
        remove)
            existing="$(current_line)"
            if [[ -z "${existing}" ]]; then
                echo "No backup line for ${ROOT}; nothing removed."
                return 0
            fi
            other_lines | write_crontab
            echo "Removed: ${existing}"
            return 0
            ;;
    esac
    build_schedule
    mkdir -p "${log_dir}"
    line="${SCHEDULE} cd $(printf '%q' "${ROOT}") && ./backup.sh >> $(printf '%q' "${log_dir}/cron_backup.log") 2>&1 ${MARKER}"
    { other_lines && printf '%s\n' "${line}"; } | write_crontab
    echo "Installed: ${line}"
    if [[ -z "${CRONTAB_FILE:-}" ]] && ! pgrep -x cron >/dev/null 2>&1 && ! pgrep -x crond >/dev/null 2>&1; then
        echo "Note: no cron daemon seems to be running; start it (service cron start) or the line never runs."
    fi
}

main "$@"
