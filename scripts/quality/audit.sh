#!/usr/bin/env bash
# pip-audit: known vulnerabilities in the Python packages we pin. Run by `make audit` and by the
# workflow, not by `make test` (a newly published advisory must not turn main red by itself).
#
#   scripts/quality/audit.sh [pip-audit options, e.g. --ignore-vuln GHSA-xxxx-xxxx-xxxx]
#
# 1. Each service's requirements.txt exactly as pinned: what its image installs.
# 2. The development virtualenv: the tools and every dependency installed with them
#    (our own editable packages are not on PyPI and are skipped).
# --strict: a package that could not be audited (no answer from PyPI's JSON API) fails the audit
# instead of passing unseen.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${ROOT}"
readonly PIP_AUDIT="${ROOT}/.venv/bin/pip-audit"
[[ -x "${PIP_AUDIT}" ]] || { echo "audit: ${PIP_AUDIT} missing: run make bootstrap" >&2; exit 1; }

status=0
for requirements in user-service/requirements.txt room-service/requirements.txt reservation-service/requirements.txt; do
    echo "== pip-audit ${requirements}"
    "${PIP_AUDIT}" --progress-spinner off --strict --no-deps --disable-pip -r "${requirements}" "$@" || status=1
done
echo "== pip-audit .venv (requirements-dev.txt)"
"${PIP_AUDIT}" --progress-spinner off --strict --skip-editable "$@" || status=1
exit "${status}"
