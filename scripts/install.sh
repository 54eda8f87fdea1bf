#!/bin/sh
# auditgraph installer: downloads the release archive for this machine, verifies it against the
# release's SHA256SUMS (and its minisign signature when minisign is installed), checks that the
# binary runs here, then renames it into place. Nothing is installed unless every check passes.
#
#   curl -fsSL https://github.com/auditgraph/auditgraph/releases/latest/download/install.sh | sh
#   sh install.sh --help
#
# Everything is in functions and `main` is called on the last line, so a truncated download of
# this script runs nothing.

set -u

AG_DEFAULT_BASE='https://github.com/auditgraph/auditgraph'
# The release signing key (config/minisign.pub). A mirror that re-signs releases passes its own
# key with --minisign-key / AUDITGRAPH_MINISIGN_KEY.
AG_PUBKEY='RWR0Q42iAvMKUGJywgy8+LyvnOSjIP931vGt1CTmae0fXcRGlyOgZi9u'
AG_RC_BEGIN='# >>> auditgraph installer >>>'
AG_RC_END='# <<< auditgraph installer <<<'

ag_quiet=0
ag_stage=''

say() {
    [ "$ag_quiet" = 1 ] || printf 'auditgraph-install: %s\n' "$1"
}

warn() {
    printf 'auditgraph-install: warning: %s\n' "$1" >&2
}

die() {
    printf 'auditgraph-install: error: %s\n' "$1" >&2
    [ -z "${2:-}" ] || printf 'auditgraph-install: hint: %s\n' "$2" >&2
    exit "${3:-1}"
}

has() {
    command -v "$1" >/dev/null 2>&1
}

usage() {
    cat <<'EOF'
Install auditgraph from its GitHub releases (or a mirror laid out the same way).

Usage: install.sh [options]

Options:
  --version X        install release X (e.g. 0.2.0 or v0.2.0)    [env AUDITGRAPH_VERSION, default: latest]
  --install-dir DIR  install into DIR    [env AUDITGRAPH_INSTALL_DIR, default: ~/.local/bin, /usr/local/bin as root]
  --base-url URL     download from URL/releases/...    [env AUDITGRAPH_DOWNLOAD_URL]
  --target NAME      skip detection and install this build, e.g. linux-x64-baseline    [env AUDITGRAPH_TARGET]
  --minisign-key K   verify SHA256SUMS.minisig with public key K instead of the project's key
                     (for mirrors that re-sign releases)    [env AUDITGRAPH_MINISIGN_KEY]
  --modify-path      add DIR to PATH in the rc file of your shell (bash, zsh or fish); off by default
  --uninstall        remove auditgraph from DIR and the PATH block this script added
  --quiet            print errors only
  --help             show this help

The archive is checked against SHA256SUMS with sha256sum, shasum or openssl; if none of them
exists, or the digest differs, nothing is installed. When minisign is installed, the signature of
SHA256SUMS is verified too.
EOF
}

# --- platform detection --------------------------------------------------------------------

detect_os() {
    _s=$(uname -s 2>/dev/null) || _s=unknown
    case "$_s" in
        Linux) echo linux ;;
        Darwin) echo darwin ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            die "Windows is not supported (detected '$_s'); auditgraph runs on Linux and macOS" \
                "under WSL, run this installer inside the Linux distribution" 2 ;;
        *) die "$_s is not supported; auditgraph runs on Linux and macOS (x86_64 and arm64)" '' 2 ;;
    esac
}

detect_arch() {
    _m=$(uname -m 2>/dev/null) || _m=unknown
    case "$_m" in
        x86_64 | amd64) _a=x64 ;;
        aarch64 | arm64) _a=arm64 ;;
        *) die "the $_m processor architecture is not supported; auditgraph runs on x86_64 and arm64" '' 2 ;;
    esac
    # A shell translated by Rosetta 2 reports x86_64 on Apple Silicon: take the native build.
    if [ "$1" = darwin ] && [ "$_a" = x64 ]; then
        if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ] ||
            [ "$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ]; then
            _a=arm64
        fi
    fi
    echo "$_a"
}

# The dynamic loader named in /bin/sh's ELF header, or `ldd --version`, tells musl from glibc.
is_musl() {
    _interp=$(tr -cs 'A-Za-z0-9/._-' '\n' </bin/sh 2>/dev/null | head -n 64 | grep '/ld-' | head -n 1)
    case "$_interp" in
        *ld-musl*) return 0 ;;
    esac
    if has ldd; then
        case "$(ldd --version 2>&1 | head -n 1)" in
            *musl*) return 0 ;;
        esac
    fi
    return 1
}

has_avx2() {
    grep -q '^flags.* avx2' "${AUDITGRAPH_INSTALL_CPUINFO:-/proc/cpuinfo}" 2>/dev/null
}

detect_target() {
    _os=$(detect_os) || exit $?
    _arch=$(detect_arch "$_os") || exit $?
    if [ "$_os" = darwin ]; then
        echo "darwin-$_arch"
    elif is_musl; then
        echo "linux-$_arch-musl"
    elif [ "$_arch" = x64 ] && ! has_avx2; then
        echo linux-x64-baseline
    else
        echo "linux-$_arch"
    fi
}

# --- downloads and verification -------------------------------------------------------------

# download URL FILE: fails (returns non-zero) on any HTTP error; retries transient failures.
download() {
    if has curl; then
        case "$1" in
            https://*) curl --proto '=https' --proto-redir '=https' --tlsv1.2 -fsSL --retry 3 -o "$2" "$1" ;;
            *) curl -fsSL --retry 3 -o "$2" "$1" ;;
        esac
    else
        wget -q -O "$2" "$1"
    fi
}

sha256_tool() {
    for _t in sha256sum shasum openssl; do
        if has "$_t"; then
            echo "$_t"
            return 0
        fi
    done
    return 1
}

sha256_of() {
    case "$1" in
        sha256sum) sha256sum "$2" | awk '{print $1}' ;;
        shasum) shasum -a 256 "$2" | awk '{print $1}' ;;
        openssl) openssl dgst -sha256 "$2" | awk '{print $NF}' ;;
    esac
}

# verify_checksum TOOL SUMS FILE NAME: the digest of FILE must equal NAME's line in SUMS.
verify_checksum() {
    _want=$(awk -v n="$4" '$2 == n || $2 == "*" n {print $1}' "$2")
    case "$_want" in
        '' | *[!0-9a-f]*) die "SHA256SUMS has no (or more than one) entry for $4; refusing to install" ;;
    esac
    [ ${#_want} -eq 64 ] || die "SHA256SUMS has a malformed entry for $4; refusing to install"
    _got=$(sha256_of "$1" "$3")
    if [ "$_got" != "$_want" ]; then
        die "checksum mismatch for $4: expected $_want, got ${_got:-nothing} ($1); nothing was installed" \
            "the download was corrupted or tampered with; try again, or report it if it persists"
    fi
    say "verified $4 (sha256 $_want, $1)"
}

verify_signature() {
    if ! download "$1/SHA256SUMS.minisig" "$2.minisig"; then
        die "minisign is installed but $1/SHA256SUMS.minisig could not be downloaded; nothing was installed"
    fi
    if ! minisign -Vq -P "$3" -m "$2" -x "$2.minisig" >/dev/null 2>&1; then
        die "the minisign signature of SHA256SUMS does not verify with key $3; nothing was installed" \
            "the release was not signed by the auditgraph project key"
    fi
    say "verified the minisign signature of SHA256SUMS"
}

# --- install directory and shell profiles ---------------------------------------------------

default_install_dir() {
    if [ "$(id -u 2>/dev/null)" = 0 ]; then
        echo /usr/local/bin
    elif [ -n "${HOME:-}" ]; then
        echo "$HOME/.local/bin"
    else
        die "HOME is not set, so there is no default install directory" "pass --install-dir DIR" 2
    fi
}

# The rc file for the user's login shell, or nothing when it is not bash, zsh or fish.
rc_file() {
    case "${SHELL:-}" in
        */zsh) echo "${ZDOTDIR:-$HOME}/.zshrc" ;;
        */bash)
            if [ "$(uname -s 2>/dev/null)" = Darwin ]; then echo "$HOME/.bash_profile"; else echo "$HOME/.bashrc"; fi ;;
        */fish) echo "${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish" ;;
    esac
}

path_line() {
    case "${SHELL:-}" in
        */fish) echo "fish_add_path \"$1\"" ;;
        *) echo "export PATH=\"$1:\$PATH\"" ;;
    esac
}

# strip_block FILE OUT: FILE without our marked block.
strip_block() {
    awk -v b="$AG_RC_BEGIN" -v e="$AG_RC_END" '$0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' "$1" >"$2"
}

# rewrite_rc FILE BLOCK: FILE without our block, then BLOCK appended (if any), replaced atomically
# through a temp file in the same directory that keeps FILE's mode.
rewrite_rc() {
    _rc=$1
    _tmp="$1.auditgraph-tmp.$$"
    [ ! -L "$_rc" ] || die "$_rc is a symbolic link; not editing it" "edit the file it points to yourself" 1
    if [ -f "$_rc" ]; then
        { cp -p "$_rc" "$_tmp" && strip_block "$_rc" "$_tmp"; } || die "cannot write $_tmp" '' 1
    else
        { mkdir -p "$(dirname "$_rc")" && : >"$_tmp"; } || die "cannot write $_tmp" '' 1
    fi
    [ -z "$2" ] || printf '%s\n' "$2" >>"$_tmp" || die "cannot write $_tmp" '' 1
    mv -f "$_tmp" "$_rc" || die "cannot replace $_rc" '' 1
}

modify_path() {
    _dir=$1
    [ -n "${HOME:-}" ] || die "HOME is not set, so there is no shell profile to edit" "add $_dir to PATH yourself" 2
    _rc=$(rc_file)
    if [ -z "$_rc" ]; then
        warn "--modify-path knows bash, zsh and fish, not '${SHELL:-unset}'; add this line to your shell's profile: $(path_line "$_dir")"
        return 0
    fi
    case ":${PATH:-}:" in
        *":$_dir:"*)
            say "$_dir is already on PATH; $_rc left as it is"
            return 0 ;;
    esac
    _block=$(printf '%s\n%s\n%s' "$AG_RC_BEGIN" "$(path_line "$_dir")" "$AG_RC_END")
    if [ -f "$_rc" ] && awk -v b="$AG_RC_BEGIN" -v e="$AG_RC_END" '
        $0 == b {on = 1} on {s = s $0 "\n"} $0 == e {on = 0} END {printf "%s", s}' "$_rc" | grep -qxF "$(path_line "$_dir")"; then
        say "$_rc already adds $_dir to PATH"
        return 0
    fi
    rewrite_rc "$_rc" "$_block"
    say "added $_dir to PATH in $_rc (open a new shell to use it)"
}

uninstall() {
    _dir=$1
    if [ -e "$_dir/auditgraph" ]; then
        rm -f "$_dir/auditgraph" || die "cannot remove $_dir/auditgraph" "check the permissions of $_dir" 1
        say "removed $_dir/auditgraph"
    else
        say "auditgraph is not installed in $_dir"
    fi
    [ -n "${HOME:-}" ] || return 0
    for _rc in "$HOME/.bashrc" "$HOME/.bash_profile" "${ZDOTDIR:-$HOME}/.zshrc" \
        "${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish"; do
        if [ -f "$_rc" ] && grep -qxF "$AG_RC_BEGIN" "$_rc"; then
            rewrite_rc "$_rc" ''
            say "removed the PATH block from $_rc"
        fi
    done
}

# --- the install itself ---------------------------------------------------------------------

cleanup() {
    [ -z "$ag_stage" ] || rm -rf "$ag_stage"
}

# run_hint TARGET CODE OUTPUT DIR: why a freshly downloaded binary would not run here. Shells word
# their errors differently (bash: 126 "cannot execute binary file", zsh: "exec format error",
# mksh: "not executable", busybox sh: reads it as a script), hence both code and text.
run_hint() {
    case "$2:$3" in
        132:* | *'llegal instruction'*)
            echo "this CPU lacks instructions the $1 build needs; retry with --target ${1%-musl}-baseline if it exists, or report it" ;;
        126:* | *'xec format'* | *'not executable'* | *'syntax error'* | *'ermission denied'*)
            echo "the $1 build cannot execute here (built for another architecture, or $4 is mounted noexec); check --target, or pick another --install-dir" ;;
        127:* | *'not found'*)
            echo "the $1 build needs a C library this system lacks (glibc or musl); try --target with the other libc" ;;
        *) echo "run the binary by hand to see why: $4/auditgraph version" ;;
    esac
}

install_release() {
    _dir=$1 _base=$2 _version=$3 _target=$4 _key=$5
    _asset="auditgraph-$_target.tar.gz"
    if [ "$_version" = latest ]; then
        _url="$_base/releases/latest/download"
    else
        _url="$_base/releases/download/v${_version#v}"
    fi

    has curl || has wget || die "neither curl nor wget is installed; install one of them" '' 1
    has tar || die "tar is not installed" '' 1
    _tool=$(sha256_tool) || die "no SHA-256 tool found (sha256sum, shasum or openssl); nothing was installed" \
        "install coreutils, perl's shasum or openssl, then run the installer again" 1

    mkdir -p "$_dir" 2>/dev/null || die "cannot create the install directory $_dir" \
        "choose another with --install-dir, or run with permission to write there" 1
    ag_stage=$(mktemp -d "$_dir/.auditgraph-install.XXXXXX" 2>/dev/null) ||
        die "cannot write to the install directory $_dir; nothing was changed" \
            "choose another with --install-dir, or run with permission to write there" 1

    say "downloading $_asset ($_version) from $_url"
    download "$_url/SHA256SUMS" "$ag_stage/SHA256SUMS" ||
        die "download of $_url/SHA256SUMS failed; nothing was installed" \
            "check the version ('$_version'), the base URL and your connection" 1
    if has minisign; then
        verify_signature "$_url" "$ag_stage/SHA256SUMS" "$_key"
    fi
    download "$_url/$_asset" "$ag_stage/$_asset" ||
        die "download of $_url/$_asset failed; nothing was installed" \
            "check the target ('$_target') and your connection" 1
    verify_checksum "$_tool" "$ag_stage/SHA256SUMS" "$ag_stage/$_asset" "$_asset"

    { mkdir "$ag_stage/x" && tar -xzf "$ag_stage/$_asset" -C "$ag_stage/x"; } ||
        die "cannot unpack $_asset into $_dir (disk full?); nothing was installed" '' 1
    [ -f "$ag_stage/x/auditgraph" ] || die "$_asset has no auditgraph executable; nothing was installed" '' 1
    chmod 755 "$ag_stage/x/auditgraph" || die "cannot make the staged binary executable" '' 1

    _out=$("$ag_stage/x/auditgraph" version 2>&1)
    _rc=$?
    if [ $_rc -ne 0 ]; then
        die "the downloaded $_target binary does not run on this machine (exit $_rc: $(printf '%s' "$_out" | head -n 1)); nothing was installed" \
            "$(run_hint "$_target" "$_rc" "$_out" "$_dir")" 1
    fi
    _new=$(printf '%s\n' "$_out" | awk 'NR == 1 {print $2}')
    if [ "$_version" != latest ] && [ "$_new" != "${_version#v}" ]; then
        die "release v${_version#v} contains auditgraph $_new; nothing was installed" '' 1
    fi

    _old=''
    if [ -x "$_dir/auditgraph" ]; then
        _old=$("$_dir/auditgraph" version 2>/dev/null | awk 'NR == 1 {print $2}')
    fi
    mv -f "$ag_stage/x/auditgraph" "$_dir/auditgraph" ||
        die "cannot move the new binary into $_dir; the previous install is unchanged" '' 1
    if [ -n "$_old" ]; then
        say "upgraded auditgraph $_old -> $_new ($_target) in $_dir/auditgraph"
    else
        say "installed auditgraph $_new ($_target) to $_dir/auditgraph"
    fi
}

main() {
    # zsh runs this file as sh when emulating it (function-scoped EXIT traps, word splitting).
    [ -z "${ZSH_VERSION:-}" ] || emulate sh
    _version=${AUDITGRAPH_VERSION:-latest}
    _dir=${AUDITGRAPH_INSTALL_DIR:-}
    _base=${AUDITGRAPH_DOWNLOAD_URL:-$AG_DEFAULT_BASE}
    _target=${AUDITGRAPH_TARGET:-}
    _key=${AUDITGRAPH_MINISIGN_KEY:-$AG_PUBKEY}
    _modify=0
    _uninstall=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --version | --install-dir | --base-url | --target | --minisign-key)
                { [ $# -ge 2 ] && [ -n "$2" ]; } || die "$1 needs a value (see --help)" '' 2
                case "$1" in
                    --version) _version=$2 ;;
                    --install-dir) _dir=$2 ;;
                    --base-url) _base=$2 ;;
                    --target) _target=$2 ;;
                    --minisign-key) _key=$2 ;;
                esac
                shift 2 ;;
            --modify-path) _modify=1; shift ;;
            --uninstall) _uninstall=1; shift ;;
            --quiet | -q) ag_quiet=1; shift ;;
            --help | -h) usage; exit 0 ;;
            *) die "unknown option '$1' (see --help)" '' 2 ;;
        esac
    done
    _base=${_base%/}

    [ -n "$_dir" ] || _dir=$(default_install_dir) || exit $?
    _dir=${_dir%/}
    # Print-only hook for tests and bug reports: AUDITGRAPH_INSTALL_PRINT=target (or install-dir)
    # prints the build this machine would get (or where it would go) and exits.
    case "${AUDITGRAPH_INSTALL_PRINT:-}" in
        target) detect_target; exit $? ;;
        install-dir) echo "$_dir"; exit 0 ;;
    esac
    if [ "$_uninstall" = 1 ]; then
        uninstall "$_dir"
        exit 0
    fi
    [ -n "$_target" ] || _target=$(detect_target) || exit $?

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    install_release "$_dir" "$_base" "$_version" "$_target" "$_key"

    if [ "$_modify" = 1 ]; then
        modify_path "$_dir"
    else
        case ":${PATH:-}:" in
            *":$_dir:"*) ;;
            *) say "$_dir is not on your PATH; add it with: $(path_line "$_dir")" ;;
        esac
    fi
}

main "$@"
