#!/usr/bin/env bash
# `make images`: builds every image of the project from its Dockerfile, with podman (or docker when
# podman is missing and a Docker engine answers), and prints their sizes and the web app's bundle size.
#
#   scripts/images.sh            build what changed (a warm run with nothing changed takes seconds)
#   scripts/images.sh --sizes    only print the sizes of the images built before
#
# Images (build context: the repository root) and their tags:
#   user-service         user-service/Dockerfile
#   room-service         room-service/Dockerfile
#   reservation-service  reservation-service/Dockerfile
#   backup               scripts/backup/Dockerfile
#   gateway              docker/gateway/Dockerfile (NGINX with the web app, built from web/ in its first stage)
# each tagged as CI pushes it, ${IMAGE_REGISTRY}/<image>:latest and :<git commit> (the commit only when
# the image's inputs have no uncommitted change), and meeting-room-system/<image>:local (docker compose's
# default, and what tests/test_images_run.py runs).
#
# Base images: each Dockerfile says `ARG BASE_IMAGE=<pinned official image>` (the gateway's also
# `ARG NODE_IMAGE=`, the stage that builds the web app). Where that image can be neither found nor pulled
# (no registry on our machines), a stand-in is made from Debian packages with mmdebstrap (Python 3.11 for
# the services; the PostgreSQL 15 client and Python for the backup image; Debian's NGINX for the gateway;
# for the web build, the host's Node.js -- the one scripts/web.sh uses -- on Debian, since Debian 12's
# Node.js 18 is too old for Vite), kept as a tar under .cache/images/ and imported once; it is remade
# only when its recipe (or the host's Node.js version) changes.
# The image itself is rebuilt only when its inputs change (its Dockerfile, the files it copies, its base,
# this script): a stamp in .cache/images/ remembers the inputs of the image last built.
#
# Environment:
#   IMAGE_REGISTRY          registry and namespace of CI's tags (default docker.io/meetingroomsystem, the
#                           chart's image.registry)
#   IMAGE_BASE              auto (default): official base if present or pullable, else the stand-in;
#                           official; standin
#   CONTAINER_ENGINE        podman or docker (default: podman if installed, else docker)
#   DEBIAN_MIRROR           for the stand-ins (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

readonly IMAGES=(user-service room-service reservation-service backup gateway)
readonly LOCAL_REPO="meeting-room-system"
readonly IMAGE_REGISTRY="${IMAGE_REGISTRY:-docker.io/meetingroomsystem}"
readonly IMAGE_BASE="${IMAGE_BASE:-auto}"
readonly CACHE=".cache/images"
readonly DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
readonly SUITE="bookworm"
# podman's settings on our machines (ulimits, runc, cgroupfs): see the file.
export CONTAINERS_CONF="${CONTAINERS_CONF:-${ROOT}/scripts/containers/containers.conf}"

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
sha() { sha256sum | cut -c1-16; }

pick_engine() {
    local wanted="${CONTAINER_ENGINE:-}"
    if [[ -z "${wanted}" ]]; then
        if have podman; then
            wanted=podman
        elif have docker && docker info >/dev/null 2>&1; then
            wanted=docker
        else
            die "neither podman nor a running Docker engine found; run scripts/bootstrap.sh (installs podman)"
        fi
    fi
    have "${wanted}" || die "${wanted} not found; run scripts/bootstrap.sh"
    ENGINE="${wanted}"
}

engine() { "${ENGINE}" "$@"; }

dockerfile_of() {
    case "$1" in
        backup) printf 'scripts/backup/Dockerfile\n' ;;
        gateway) printf 'docker/gateway/Dockerfile\n' ;;
        *) printf '%s/Dockerfile\n' "$1" ;;
    esac
}

# The base images an image's Dockerfile takes, one line each: the build argument that names it and the
# kind of stand-in that replaces it where the official one cannot be had.
bases_of() {
    case "$1" in
        backup) printf 'BASE_IMAGE postgres\n' ;;
        gateway) printf 'NODE_IMAGE node\nBASE_IMAGE nginx\n' ;;
        *) printf 'BASE_IMAGE python\n' ;;
    esac
}

# The official base a Dockerfile names for a build argument: the default of its `ARG <NAME>=`.
official_base_of() {
    local dockerfile=$1 arg=$2 base
    base="$(sed -n "s/^ARG ${arg}=\(.*\)\$/\1/p" "${dockerfile}" | head -n 1)"
    [[ -n "${base}" ]] || die "${dockerfile} has no 'ARG ${arg}=<image>' line"
    printf '%s\n' "${base}"
}

# ---------------------------------------------------------------------------
# Stand-in base images from Debian packages
# ---------------------------------------------------------------------------
# Each recipe is the mmdebstrap arguments plus the image settings; its hash (with the host's extra CA
# certificates, which pip and apt need inside a build here) names the cached tar and the image tag.
# shellcheck disable=SC2016  # mmdebstrap runs the hooks with $1 = the new root directory
standin_recipe() {
    local kind=$1
    local common=(
        --variant=minbase --format=tar
        # merged /usr the debootstrap way: no usrmerge package, which would pull in all of Perl
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
        --dpkgopt='path-exclude=/usr/share/info/*'
        --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"'
        --customize-hook='for f in /usr/local/share/ca-certificates/*.crt; do [ -e "$f" ] && cp "$f" "$1/usr/local/share/ca-certificates/"; done; true'
        --customize-hook='chroot "$1" update-ca-certificates --fresh >/dev/null'
        --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'
        # As in Debian's official images: apt keeps no package cache (80 MB in a layer that runs apt-get update).
        --customize-hook='printf "Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n" >"$1/etc/apt/apt.conf.d/docker-clean"; rm -f "$1"/var/cache/apt/*.bin'
    )
    case "${kind}" in
        python)
            # python:3.11-slim-bookworm: Python 3.11 with venv (a venv gets pip from ensurepip).
            printf '%s\n' "${common[@]}" \
                --include=python3,python3-venv,python-is-python3,ca-certificates \
                'CHANGE=ENV LANG=C.UTF-8' \
                'CHANGE=ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                'CHANGE=CMD ["python3"]'
            ;;
        postgres)
            # postgres:15-bookworm as the backup image uses it: the PostgreSQL 15 client programs in
            # /usr/lib/postgresql/15/bin, the postgres user with uid 999, apt to add Python.
            printf '%s\n' "${common[@]}" \
                --include=postgresql-client-15,python3,python3-venv,ca-certificates,gzip \
                --customize-hook='chroot "$1" groupadd --system --gid 999 postgres' \
                --customize-hook='chroot "$1" useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres' \
                'CHANGE=ENV LANG=C.UTF-8' \
                'CHANGE=ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin' \
                'CHANGE=ENV PG_MAJOR=15' \
                'CHANGE=CMD ["bash"]'
            ;;
        nginx)
            # nginx:1.28.0-alpine as the gateway image uses it: nginx (Debian's 1.22, the one `make run` and the
            # tests run), the nginx user with uid 101, a wget for the health check.
            printf '%s\n' "${common[@]}" \
                --include=nginx,wget,ca-certificates \
                --customize-hook='chroot "$1" groupadd --system --gid 101 nginx' \
                --customize-hook='chroot "$1" useradd --system --uid 101 --gid 101 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx' \
                'CHANGE=ENV LANG=C.UTF-8' \
                'CHANGE=ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                'CHANGE=STOPSIGNAL SIGQUIT' \
                'CHANGE=CMD ["nginx", "-g", "daemon off;"]'
            ;;
        node)
            # node:22-bookworm-slim for the web app's build stage: the host's Node.js and npm (what
            # scripts/web.sh builds with) copied onto Debian; npm trusts the same certificates as pip.
            local node prefix
            node="$(readlink -f "$(command -v node)")"
            prefix="$(dirname "$(dirname "${node}")")"
            [[ -x "${node}" && -d "${prefix}/lib/node_modules/npm" ]] \
                || die "the node stand-in needs Node.js with npm on this machine (scripts/bootstrap.sh)"
            printf '%s\n' "${common[@]}" \
                --include=ca-certificates \
                --customize-hook="cp '${node}' \"\$1/usr/local/bin/node\"" \
                --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '${prefix}/lib/node_modules/npm' \"\$1/usr/local/lib/node_modules/\"" \
                --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
                --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
                "NODE_VERSION=$("${node}" --version)" \
                'CHANGE=ENV LANG=C.UTF-8' \
                'CHANGE=ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                'CHANGE=ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
                'CHANGE=CMD ["node"]'
            ;;
        *) die "no stand-in recipe for ${kind}" ;;
    esac
}

standin_key() {
    {
        printf '%s\n' "${SUITE}" "${DEBIAN_MIRROR}" "${DEBIAN_SECURITY_MIRROR}"
        standin_recipe "$1"
        cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
    } | sha
}

# Makes (or reuses) the stand-in for one kind; prints its image name.
ensure_standin() {
    local kind=$1 key image tar recipe=() args=() changes=() line started=${SECONDS}
    key="$(standin_key "${kind}")"
    image="localhost/${LOCAL_REPO}/standin-${kind}:${key}"
    if engine image inspect "${image}" >/dev/null 2>&1; then
        printf '%s\n' "${image}"
        return
    fi
    mapfile -t recipe < <(standin_recipe "${kind}")
    for line in "${recipe[@]}"; do
        case "${line}" in
            CHANGE=*) changes+=(--change "${line#CHANGE=}") ;;
            NODE_VERSION=*) ;;  # only in the recipe's hash: a new Node.js on the host makes a new stand-in
            *) args+=("${line}") ;;
        esac
    done
    tar="${CACHE}/standin-${kind}-${key}.tar"
    if [[ ! -s "${tar}" ]]; then
        have mmdebstrap || die "mmdebstrap not found; run scripts/bootstrap.sh"
        log "making the ${kind} stand-in base from Debian packages (mmdebstrap, about a minute)"
        rm -f "${CACHE}"/standin-"${kind}"-*.tar "${tar}.tmp"
        mmdebstrap "${args[@]}" "${SUITE}" "${tar}.tmp" \
            "deb ${DEBIAN_MIRROR} ${SUITE} main" "deb ${DEBIAN_MIRROR} ${SUITE}-updates main" \
            "deb ${DEBIAN_SECURITY_MIRROR} ${SUITE}-security main" >"${CACHE}/logs/standin-${kind}.log" 2>&1 \
            || { tail -n 30 "${CACHE}/logs/standin-${kind}.log" >&2; die "mmdebstrap failed for the ${kind} stand-in"; }
        mv "${tar}.tmp" "${tar}"
        log "${kind} stand-in made in $((SECONDS - started)) s"
    fi
    engine import "${changes[@]}" "${tar}" "${image}" >/dev/null 2>"${CACHE}/logs/standin-${kind}-import.log" \
        || { cat "${CACHE}/logs/standin-${kind}-import.log" >&2; die "importing ${tar} failed"; }
    # Older stand-ins of this kind are not needed any more (kept while an image still uses them).
    engine images --format '{{.Repository}}:{{.Tag}}' "localhost/${LOCAL_REPO}/standin-${kind}" 2>/dev/null \
        | grep -v -x -F "${image}" | xargs -r "${ENGINE}" rmi >/dev/null 2>&1 || true
    printf '%s\n' "${image}"
}

# True when the official base (an image name) is present or can be pulled (never with IMAGE_BASE=standin).
official_available() {
    local official=$1
    case "${IMAGE_BASE}" in
        standin) return 1 ;;
        auto | official) ;;
        *) die "IMAGE_BASE must be auto, official or standin (got ${IMAGE_BASE})" ;;
    esac
    if engine image inspect "${official}" >/dev/null 2>&1 \
        || timeout 120 "${ENGINE}" pull -q "${official}" >/dev/null 2>&1; then
        return 0
    fi
    [[ "${IMAGE_BASE}" != official ]] || die "cannot pull ${official} (IMAGE_BASE=official)"
    return 1
}

# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------
# The files an image is built from: the sources of its Dockerfile's COPY lines (--from= excepted).
inputs_of() {
    local dockerfile=$1 kind rest word words=() args=()
    printf '%s\n' "${dockerfile}" .dockerignore
    while read -r kind rest; do
        [[ "${kind^^}" == COPY && "${rest}" != *--from=* ]] || continue
        read -r -a words <<<"${rest}"
        args=()
        for word in "${words[@]}"; do
            [[ "${word}" == --* ]] || args+=("${word}")
        done
        # Every argument but the destination; globs (scripts/backup/*.py) expand here as in the build.
        for word in "${args[@]::${#args[@]}-1}"; do
            compgen -G "${word}" || printf '%s\n' "${word}"
        done
    done <"${dockerfile}"
}

inputs_key() {
    local image=$1 base_ids=$2 files=()
    mapfile -t files < <(inputs_of "$(dockerfile_of "${image}")" | xargs -r -I{} find {} -type f \
        -not -path '*/__pycache__/*' -not -name '*.pyc' -not -path '*.egg-info/*' -not -path '*/build/*' \
        | LC_ALL=C sort -u)
    { sha256sum -- "${files[@]}" "${BASH_SOURCE[0]}"; printf '%s\n' "${ENGINE}" "${base_ids}"; } | sha
}

image_id() { engine image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# The commit to tag with: HEAD, when the image's inputs have no uncommitted change.
commit_tag_of() {
    local image=$1 files=()
    have git && git rev-parse --git-dir >/dev/null 2>&1 || return 0
    mapfile -t files < <(inputs_of "$(dockerfile_of "${image}")")
    if git diff --quiet HEAD -- "${files[@]}" && [[ -z "$(git ls-files --others --exclude-standard -- "${files[@]}")" ]]; then
        git rev-parse HEAD
    fi
}

# Removes one name of an image, never the image's other names (`podman untag IMAGE` alone would remove all).
remove_name() {
    if [[ "${ENGINE}" == podman ]]; then
        podman untag "$1" "$1" >/dev/null 2>&1 || true
    else
        docker rmi "$1" >/dev/null 2>&1 || true  # only the name, while the image has others
    fi
}

tag_image() {
    local image=$1 local_ref=$2 commit old
    engine tag "${local_ref}" "${IMAGE_REGISTRY}/${image}:latest"
    commit="$(commit_tag_of "${image}")"
    # One commit tag per image here: the previous one goes, so old images do not pile up.
    while read -r old; do
        [[ "${old}" == "${IMAGE_REGISTRY}/${image}:${commit:-none}" ]] || remove_name "${old}"
    done < <(engine images --format '{{.Repository}}:{{.Tag}}' "${IMAGE_REGISTRY}/${image}" 2>/dev/null \
        | grep -E ":[0-9a-f]{40}$" || true)
    if [[ -n "${commit}" ]]; then engine tag "${local_ref}" "${IMAGE_REGISTRY}/${image}:${commit}"; fi
}

# build_image IMAGE ARG=BASE...: the bases as build arguments (BASE_IMAGE=..., NODE_IMAGE=...).
build_image() {
    local image=$1 dockerfile base_ids="" key stamp local_ref old_id started=${SECONDS} pair
    shift
    local base_args=()
    for pair in "$@"; do
        base_args+=(--build-arg "${pair}")
        base_ids+="${pair%%=*}=$(image_id "${pair#*=}") "
    done
    dockerfile="$(dockerfile_of "${image}")"
    local_ref="${LOCAL_REPO}/${image}:local"
    key="$(inputs_key "${image}" "${base_ids}")"
    stamp="${CACHE}/${image}.stamp"
    old_id="$(image_id "${local_ref}")"
    if [[ -n "${old_id}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key} ${old_id}" ]]; then
        log "${image}: up to date"
    else
        log "${image}: building ${dockerfile} on ${*#*=} (log ${CACHE}/logs/${image}.log)"
        local build=(build --file "${dockerfile}" "${base_args[@]}" --network host --tag "${local_ref}")
        # podman writes OCI images by default, which have no HEALTHCHECK; Docker's format keeps it.
        if [[ "${ENGINE}" == podman ]]; then build+=(--format docker); fi
        # Docker's classic builder knows no `COPY --chmod` (the backup image): BuildKit, without a frontend image.
        export DOCKER_BUILDKIT=1
        if ! engine "${build[@]}" . >"${CACHE}/logs/${image}.log" 2>&1 </dev/null; then
            tail -n 40 "${CACHE}/logs/${image}.log" | sed 's/^/    /' >&2
            die "building ${image} failed"
        fi
        local new_id
        new_id="$(image_id "${local_ref}")"
        printf '%s %s\n' "${key}" "${new_id}" >"${stamp}"
        log "${image}: built in $((SECONDS - started)) s"
    fi
    tag_image "${image}" "${local_ref}"
    # The image this one replaces, once it has no name left and no container uses it (never forced).
    if [[ -n "${old_id}" && "$(engine image inspect --format '{{len .RepoTags}}' "${old_id}" 2>/dev/null)" == 0 ]]; then
        engine rmi "${old_id}" >/dev/null 2>&1 || true
    fi
}

print_sizes() {
    local image bytes
    printf '%-22s %9s  %s\n' IMAGE SIZE TAGS
    for image in "${IMAGES[@]}"; do
        bytes="$(engine image inspect --format '{{.Size}}' "${LOCAL_REPO}/${image}:local" 2>/dev/null)" \
            || die "${LOCAL_REPO}/${image}:local is not built; run make images"
        printf '%-22s %6d MB  %s, %s\n' "${image}" "$((bytes / 1000000))" "${LOCAL_REPO}/${image}:local" \
            "${IMAGE_REGISTRY}/${image}:latest"
    done
    # The web app's budget (issue: at most 200 KB of gzipped JavaScript), measured in the gateway image.
    bytes="$(engine run --rm --network none --no-healthcheck --entrypoint /bin/sh "${LOCAL_REPO}/gateway:local" \
        -c 'cat /srv/meeting-rooms/web/assets/*.js' 2>/dev/null | gzip -9 | wc -c)"
    printf 'web app bundle (gateway image): %d KB of gzipped JavaScript\n' "$((bytes / 1000))"
}

# Background jobs, each with its name; wait_jobs fails if any failed (each says why on stderr).
JOB_PIDS=()
JOB_NAMES=()
start_job() {
    local name=$1
    shift
    "$@" &
    JOB_PIDS+=("$!")
    JOB_NAMES+=("${name}")
}

wait_jobs() {
    local i failed=()
    for i in "${!JOB_PIDS[@]}"; do
        wait "${JOB_PIDS[i]}" || failed+=("${JOB_NAMES[i]}")
    done
    JOB_PIDS=()
    JOB_NAMES=()
    ((${#failed[@]} == 0)) || die "failed: ${failed[*]}"
}

main() {
    pick_engine
    if [[ "${1:-}" == --sizes ]]; then
        print_sizes
        return
    fi
    [[ $# -eq 0 ]] || die "usage: scripts/images.sh [--sizes]"
    mkdir -p "${CACHE}/logs"
    # One run at a time (make images and the image test may start together).
    exec 8>"${CACHE}/.lock"
    flock 8
    local image kind arg official started=${SECONDS}
    # base["IMAGE ARG"]: the official image, where it can be had (each asked once); else a stand-in of a kind.
    local -A base=() kinds=() available=()
    for image in "${IMAGES[@]}"; do
        while read -r arg kind; do
            official="$(official_base_of "$(dockerfile_of "${image}")" "${arg}")"
            if [[ -z "${available[${official}]:-}" ]]; then
                if official_available "${official}"; then available[${official}]=yes; else available[${official}]=no; fi
            fi
            if [[ "${available[${official}]}" == yes ]]; then
                base["${image} ${arg}"]="${official}"
            else
                kinds[${kind}]=1
            fi
        done < <(bases_of "${image}")
    done
    if [[ -n "${kinds[node]:-}" ]] && ! have node; then
        die "the gateway's web build needs Node.js here (no node image can be pulled); run scripts/bootstrap.sh"
    fi
    # The stand-ins, then the images, each set in parallel: mostly downloads (Debian packages, wheels, npm).
    for kind in "${!kinds[@]}"; do
        start_job "stand-in ${kind}" ensure_standin "${kind}" >/dev/null
    done
    wait_jobs
    local args=()
    for image in "${IMAGES[@]}"; do
        args=()
        while read -r arg kind; do
            [[ -n "${base["${image} ${arg}"]:-}" ]] || base["${image} ${arg}"]="$(ensure_standin "${kind}")"
            args+=("${arg}=${base["${image} ${arg}"]}")
        done < <(bases_of "${image}")
        start_job "${image}" build_image "${image}" "${args[@]}"
    done
    wait_jobs
    log "done in $((SECONDS - started)) s with ${ENGINE}"
    print_sizes
}

main "$@"
