#!/bin/sh
# Smoke test of deploy/auditgraph.Containerfile with podman, offline and without Docker:
#   1. a minimal Debian root filesystem (debootstrap --variant=minbase, which has no Node) stands
#      in for the distroless base, imported as a podman image;
#   2. the image is built from the release binary for this machine (linux-x64-baseline or
#      linux-arm64), from --dist DIR (a `bun scripts/build.ts` out dir) or built here;
#   3. inside it, with --network=none and as the image's non-root user: `auditgraph version`, then
#      an ingest of a copy of examples/workspace mounted at /workspace;
#   4. the image's files are listed to check that no `node` or `bun` exists in it.
# Prints PASSED, or SKIPPED and why (exit 77) when containers cannot run here; never pretends.
#
#   sh scripts/container-smoke.sh [--dist DIR] [--rootfs DIR] [--keep]
#
# --rootfs reuses a debootstrap'ed directory (made and cached under $XDG_CACHE_HOME otherwise).
# DEBIAN_MIRROR (default http://deb.debian.org/debian) and DEBIAN_SUITE (bookworm) pick the base.
set -eu

say() {
    printf 'container-smoke: %s\n' "$1"
}

skip() {
    printf 'container-smoke: SKIPPED: %s\n' "$1"
    exit 77
}

fail() {
    printf 'container-smoke: FAILED: %s\n' "$1" >&2
    exit 1
}

cleanup() {
    if [ "$keep" = 0 ]; then
        podman rm -f "$name" >/dev/null 2>&1 || true
        podman rmi -f "$image" "$base" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}

main() {
    repo=$(cd "$(dirname "$0")/.." && pwd)
    dist=''
    rootfs=''
    keep=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --dist) dist=$2; shift 2 ;;
            --rootfs) rootfs=$2; shift 2 ;;
            --keep) keep=1; shift ;;
            *) fail "unknown option '$1' (usage: container-smoke.sh [--dist DIR] [--rootfs DIR] [--keep])" ;;
        esac
    done

    [ "$(uname -s)" = Linux ] || skip "containers are tested on Linux only (this is $(uname -s))"
    command -v podman >/dev/null 2>&1 || skip "podman is not installed (apt-get install podman runc)"
    case "$(uname -m)" in
        x86_64) target=linux-x64-baseline platform=linux/amd64 ;;
        aarch64) target=linux-arm64 platform=linux/arm64 ;;
        *) skip "no release build for $(uname -m)" ;;
    esac

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/auditgraph-container-smoke.XXXXXX")
    base="localhost/auditgraph-smoke-base:$$"
    image="localhost/auditgraph-smoke:$$"
    name="auditgraph-smoke-$$"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # podman's default rlimits (nofile/nproc 1048576) exceed what a nested or limited host allows.
    cat >"$tmp/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
    CONTAINERS_CONF="$tmp/containers.conf"
    export CONTAINERS_CONF

    if [ -z "$rootfs" ]; then
        rootfs="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/auditgraph/container-smoke/${DEBIAN_SUITE:-bookworm}-minbase"
        if [ ! -x "$rootfs/bin/sh" ]; then
            command -v debootstrap >/dev/null 2>&1 || skip "debootstrap is not installed (apt-get install debootstrap)"
            [ "$(id -u)" = 0 ] || skip "debootstrap needs root"
            say "debootstrap --variant=minbase ${DEBIAN_SUITE:-bookworm} into $rootfs"
            rm -rf "$rootfs.partial"
            mkdir -p "$(dirname "$rootfs")"
            debootstrap --variant=minbase "${DEBIAN_SUITE:-bookworm}" "$rootfs.partial" \
                "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$tmp/debootstrap.log" 2>&1 ||
                skip "debootstrap failed (no Debian mirror reachable?): $(tail -n 1 "$tmp/debootstrap.log")"
            mv "$rootfs.partial" "$rootfs"
        fi
    fi
    say "importing $rootfs as $base"
    tar -C "$rootfs" -c . | podman import - "$base" >"$tmp/import.log" 2>&1 ||
        fail "podman import failed: $(tail -n 1 "$tmp/import.log")"
    if ! podman run --rm --network=none "$base" /bin/true >"$tmp/probe.log" 2>&1; then
        skip "podman cannot start containers here: $(tail -n 1 "$tmp/probe.log")"
    fi

    if [ -z "$dist" ]; then
        say "building the $target release archive"
        dist="$tmp/dist"
        (cd "$repo" && bun scripts/build.ts --target "$target" --out "$dist") >"$tmp/build.log" 2>&1 ||
            fail "bun scripts/build.ts failed: $(tail -n 3 "$tmp/build.log")"
    fi
    [ -f "$dist/auditgraph-$target.tar.gz" ] || fail "$dist has no auditgraph-$target.tar.gz"
    mkdir -p "$tmp/context/$platform"
    tar -xzf "$dist/auditgraph-$target.tar.gz" -C "$tmp/context/$platform" auditgraph
    info=$("$tmp/context/$platform/auditgraph" version --json | tr -d '\n ')
    version=$(printf '%s' "$info" | sed 's/.*"version":"\([^"]*\)".*/\1/')
    revision=$(printf '%s' "$info" | sed 's/.*"commit":"\([^"]*\)".*/\1/')

    say "building $image from deploy/auditgraph.Containerfile"
    podman build --network=none --platform "$platform" --build-arg BASE="$base" \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" \
        -f "$repo/deploy/auditgraph.Containerfile" -t "$image" "$tmp/context" >"$tmp/build-image.log" 2>&1 ||
        fail "podman build failed: $(tail -n 3 "$tmp/build-image.log")"

    labels=$(podman image inspect --format '{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.licenses"}}' "$image")
    [ "$labels" = "65532:65532 $version $revision MIT" ] || fail "unexpected user/labels: $labels"
    say "user and labels: $labels"

    out=$(podman run --rm --network=none "$image" version --json) || fail "auditgraph version failed in the image"
    case "$out" in
        *"\"version\": \"$version\""*) say "version: $(printf '%s' "$out" | tr -d '\n ')" ;;
        *) fail "unexpected version output: $out" ;;
    esac

    mkdir "$tmp/workspace"
    (cd "$repo/examples/workspace" && tar --exclude=./.pkg -cf - .) | tar -xf - -C "$tmp/workspace"
    chmod -R a+rwX "$tmp/workspace"
    out=$(podman run --rm --network=none -v "$tmp/workspace:/workspace" "$image" ingest --json) ||
        fail "auditgraph ingest failed in the image: $out"
    case "$out" in
        *'"status": "ok"'*) say "ingest of examples/workspace as uid 65532: $(printf '%s' "$out" | tr -d '\n ' | sed 's/.*"counts":\({[^}]*}\).*/\1/')" ;;
        *) fail "unexpected ingest output: $out" ;;
    esac
    [ -d "$tmp/workspace/.pkg" ] || fail "ingest wrote no .pkg into the mounted workspace"

    # The documented line: the caller's uid on a workspace it owns.
    mkdir "$tmp/own"
    (cd "$repo/examples/workspace" && tar --exclude=./.pkg -cf - .) | tar -xf - -C "$tmp/own"
    if chown -R 1000:1000 "$tmp/own" 2>/dev/null; then
        podman run --rm --network=none -u 1000:1000 -v "$tmp/own:/workspace" "$image" ingest >/dev/null ||
            fail "auditgraph ingest failed as -u 1000:1000"
        [ -d "$tmp/own/.pkg" ] || fail "ingest as -u 1000:1000 wrote no .pkg"
        say "ingest as -u 1000:1000 on a workspace owned by uid 1000: ok"
    else
        say "not checked: ingest as -u 1000:1000 (cannot chown a workspace to uid 1000 without root)"
    fi

    podman create --name "$name" "$image" >/dev/null
    files=$(podman export "$name" | tar -t)
    podman rm "$name" >/dev/null
    found=$(printf '%s\n' "$files" | grep -E '(^|/)(node|nodejs|bun)$' || true)
    [ -z "$found" ] || fail "the image contains: $found"
    say "no node, nodejs or bun among the image's $(printf '%s\n' "$files" | wc -l | tr -d ' ') files"
    say "PASSED ($image, $platform, auditgraph $version)"
}

main "$@"
