#!/usr/bin/env bash
# Builds the Go tools the quality checks use, from the Go module proxy, into .cache/tools; once.
#
#   scripts/quality/install-tools.sh           fast (a file check) when they are built already
#   scripts/quality/install-tools.sh --check   exit 1 when there is something to build (for bootstrap)
#
# actionlint checks .github/workflows (tests/test_quality_workflow.py); without Go it is not built and
# the workflow is still checked against GitHub's workflow JSON schema.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ACTIONLINT_VERSION="v1.7.12"
readonly TOOLS="${ROOT}/.cache/tools"
readonly TARGET="${TOOLS}/actionlint-${ACTIONLINT_VERSION}"

if [[ "${1:-}" == --check ]]; then
    [[ -x "${TARGET}/actionlint" ]] || ! command -v go >/dev/null 2>&1
    exit
fi
if [[ -x "${TARGET}/actionlint" ]]; then
    ln -sfn "actionlint-${ACTIONLINT_VERSION}/actionlint" "${TOOLS}/actionlint"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: go not found, actionlint not built (the workflow is checked by its JSON schema only)" >&2
    exit 0
fi
mkdir -p "${TARGET}.tmp"
GOBIN="${TARGET}.tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
rm -rf "${TARGET}"
mv "${TARGET}.tmp" "${TARGET}"
ln -sfn "actionlint-${ACTIONLINT_VERSION}/actionlint" "${TOOLS}/actionlint"
echo "install-tools: built ${TARGET}/actionlint" >&2
