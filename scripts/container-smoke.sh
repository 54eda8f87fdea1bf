#!/bin/sh
# Smoke test of the container images, with podman, offline and without Docker:
#   1. a minimal Debian root filesystem (debootstrap --variant=minbase, which has no Node) stands
#      in for the distroless base, imported as a podman image;
#   2. the image of --program (auditgraph, the default, or release-server) is built from
#      deploy/<program>.Containerfile and the release binary for this machine (linux-x64-baseline
#      or linux-arm64), from --dist DIR (a `bun scripts/build.ts` out dir) or built here;
#   3. inside it, with --network=none and as the image's non-root user:
#      auditgraph: `version`, then an ingest of a copy of examples/workspace mounted at /workspace;
#      release-server: `--version`, then the server as PID 1: the image's health check command
#      passes, the database is on /data, and SIGTERM drains it to a clean exit;
#   4. the image's files are listed to check that no `node` or `bun` exists in it.
# Prints PASSED, or SKIPPED and why (exit 77) when containers cannot run here; never pretends.
#
#   sh scripts/container-smoke.sh [--program auditgraph|release-server] [--dist DIR] [--rootfs DIR] [--keep]
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
        podman rm -f "$name" "$name-files" >/dev/null 2>&1 || true
        podman rmi -f "$image" "$base" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}

main() {
    repo=$(cd "$(dirname "$0")/.." && pwd)
    dist=''
    rootfs=''
    keep=0
    program=auditgraph
    while [ $# -gt 0 ]; do
        case "$1" in
            --program) program=$2; shift 2 ;;
            --dist) dist=$2; shift 2 ;;
            --rootfs) rootfs=$2; shift 2 ;;
            --keep) keep=1; shift ;;
            *) fail "unknown option '$1' (usage: container-smoke.sh [--program auditgraph|release-server] [--dist DIR] [--rootfs DIR] [--keep])" ;;
        esac
    done
    case "$program" in
        auditgraph|release-server) ;;
        *) fail "unknown program '$program' (auditgraph or release-server)" ;;
    esac

    [ "$(uname -s)" = Linux ] || skip "containers are tested on Linux only (this is $(uname -s))"
    command -v podman >/dev/null 2>&1 || skip "podman is not installed (apt-get install podman runc)"
    case "$(uname -m)" in
        x86_64) target=linux-x64-baseline platform=linux/amd64 ;;
        aarch64) target=linux-arm64 platform=linux/arm64 ;;
        *) skip "no release build for $(uname -m)" ;;
    esac

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/auditgraph-container-smoke.XXXXXX")
    base="localhost/auditgraph-smoke-base:$$"
    image="localhost/$program-smoke:$$"
    name="$program-smoke-$$"
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
    [ -f "$dist/$program-$target.tar.gz" ] || fail "$dist has no $program-$target.tar.gz"
    [ -f "$dist/release.json" ] || fail "$dist has no release.json"
    mkdir -p "$tmp/context/$platform" "$tmp/context/data"
    tar -xzf "$dist/$program-$target.tar.gz" -C "$tmp/context/$platform" "$program"
    manifest=$(tr -d '\n ' <"$dist/release.json")
    version=$(printf '%s' "$manifest" | sed 's/.*"version":"\([^"]*\)".*/\1/')
    revision=$(printf '%s' "$manifest" | sed 's/.*"commit":"\([^"]*\)".*/\1/')

    say "building $image from deploy/$program.Containerfile"
    podman build --network=none --platform "$platform" --build-arg BASE="$base" \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" \
        -f "$repo/deploy/$program.Containerfile" -t "$image" "$tmp/context" >"$tmp/build-image.log" 2>&1 ||
        fail "podman build failed: $(tail -n 3 "$tmp/build-image.log")"

    labels=$(podman image inspect --format '{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.licenses"}}' "$image")
    [ "$labels" = "65532:65532 $version $revision MIT" ] || fail "unexpected user/labels: $labels"
    say "user and labels: $labels"

    if [ "$program" = auditgraph ]; then smoke_auditgraph; else smoke_release_server; fi

    podman create --name "$name-files" "$image" >/dev/null
    files=$(podman export "$name-files" | tar -t)
    podman rm "$name-files" >/dev/null
    found=$(printf '%s\n' "$files" | grep -E '(^|/)(node|nodejs|bun)$' || true)
    [ -z "$found" ] || fail "the image contains: $found"
    say "no node, nodejs or bun among the image's $(printf '%s\n' "$files" | wc -l | tr -d ' ') files"
    say "PASSED ($image, $platform, $program $version)"
}

smoke_auditgraph() {
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

}

smoke_release_server() {
    out=$(podman run --rm --network=none "$image" --version) || fail "release-server --version failed in the image"
    [ "$out" = "$version" ] || fail "unexpected --version output: $out"
    say "--version: $out"

    podman run -d --name "$name" --network=none "$image" >/dev/null || fail "the server container did not start"
    tries=0
    until podman exec "$name" /usr/local/bin/release-server serve --check --port 8080 >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -lt 30 ] || fail "the health check never passed: $(podman logs "$name" 2>&1 | tail -n 3)"
        sleep 1
    done
    say "health check (the image's HEALTHCHECK command, serve --check) passed"

    podman stop -t 20 "$name" >/dev/null || fail "podman stop failed"
    code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
    logs=$(podman logs "$name" 2>&1)
    [ "$code" = 0 ] || fail "the server exited $code after SIGTERM: $(printf '%s' "$logs" | tail -n 3)"
    case "$logs" in
        *'"msg":"draining","signal":"SIGTERM"'*'"msg":"stopped"'*) say "SIGTERM to PID 1: drained, stopped, exit 0" ;;
        *) fail "no drain in the server's log: $(printf '%s' "$logs" | tail -n 3)" ;;
    esac
    podman cp "$name:/data/release-server.db" "$tmp/release-server.db" >/dev/null 2>&1 ||
        fail "no database on the /data volume"
    say "database on /data: $(wc -c <"$tmp/release-server.db" | tr -d ' ') bytes"
}

main "$@"
