#!/bin/sh
# auditgraph installer: downloads the release archive for this machine, verifies the minisign
# signature of the release's SHA256SUMS (with minisign, or with OpenSSL 1.1.1 or later) and the
# archive against it, checks that the binary runs here, then renames it into place. Nothing is
# installed unless every check passes.
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
# RFC 8032's second Ed25519 test vector (message 0x72) and BLAKE2b-512 of that byte: what the
# installer asks `openssl` to check before trusting it to verify a signature.
AG_PROBE_PK='3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'
AG_PROBE_SIG='92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
AG_PROBE_HASH='fafa573a4caaa6d0367f122a3f40d74a61513cfa7bad05259ffe674eb7c10ae38b5e4271287c74b72d88f79019004acf95316d4142294db0b32cb69d1139f376'

ag_quiet=0
ag_stage=''
# The install id sent as X-Install-Id, and the channel (?channel= on `latest` downloads), set by main.
ag_id=''
ag_channel=''
ag_installed=''
# A read token for a private app on a release server (AUDITGRAPH_TOKEN, or RELEASES_TOKEN as a
# release server's install command passes it), sent as Authorization on every download.
ag_token=''

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
Install auditgraph from its GitHub releases (or a mirror or release server laid out the same way).

Usage: install.sh [options]

Options:
  --version X        install release X (e.g. 0.2.0 or v0.2.0)    [env AUDITGRAPH_VERSION or RELEASES_VERSION, default: latest]
  --channel NAME     install the latest release of channel NAME (a release server's channels, e.g. beta)
                     [env AUDITGRAPH_CHANNEL, default: the server's default channel]
  --install-dir DIR  install into DIR    [env AUDITGRAPH_INSTALL_DIR, default: ~/.local/bin, /usr/local/bin as root]
  --base-url URL     download from URL/releases/..., e.g. https://releases.example.org/auditgraph/auditgraph
                     for a self-hosted release server (<server>/<owner>/<app>)
                     [env AUDITGRAPH_DOWNLOAD_URL, or RELEASES_BASE_URL as a release server's command sets it]
  --target NAME      skip detection and install this build, e.g. linux-x64-baseline    [env AUDITGRAPH_TARGET]
  --minisign-key K   verify SHA256SUMS.minisig with public key K instead of the project's key
                     (for mirrors that re-sign releases)    [env AUDITGRAPH_MINISIGN_KEY]
  --require-signature
                     refuse to install when no tool here can verify the signature of SHA256SUMS
                     [env AUDITGRAPH_REQUIRE_SIGNATURE=1]
  --modify-path      add DIR to PATH in the rc file of your shell (bash, zsh or fish); off by default
  --no-completions   do not install shell completions (bash, zsh and fish; installed by default)
  --uninstall        remove auditgraph (from DIR, or where the last install recorded) and the PATH block
  --quiet            print errors only
  --help             show this help

The signature of SHA256SUMS is verified with minisign or, without it, with openssl (OpenSSL 1.1.1
or later: Ed25519 and BLAKE2b-512); a missing or bad signature aborts. When neither can verify,
the installer says so loudly and goes on, unless --require-signature is given. The archive is then
checked against SHA256SUMS with sha256sum, shasum or openssl; if none of them exists, or the digest
differs, nothing is installed.

AUDITGRAPH_TOKEN: a release server token that may read a private app, sent as "Authorization:
Bearer" with every download, never to the project's own base. RELEASES_TOKEN (what a release
server's install command passes) is sent only to the base that command gave (RELEASES_BASE_URL).
Needs curl 7.58 or later, which does not pass the header on to another host on a redirect.

After an install, ${XDG_CONFIG_HOME:-~/.config}/auditgraph/install.json records where it came from
(base URL, channel), where it went and the version; install-id next to it is a random id sent as
X-Install-Id so that a release server's staged rollouts treat this machine consistently.
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

# download URL FILE: fails (returns non-zero) on any HTTP error; retries transient failures. Sends
# the install id and the channel (a release server's staged rollout reads them) when set.
download() {
    _u=$1 _f=$2
    shift 2
    if has curl; then
        case "$_u" in
            https://*) set -- --proto '=https' --proto-redir '=https' --tlsv1.2 ;;
        esac
        [ -z "$ag_id" ] || set -- "$@" -H "X-Install-Id: $ag_id"
        [ -z "$ag_channel" ] || set -- "$@" -H "X-Release-Channel: $ag_channel"
        if [ -n "$ag_token" ]; then
            # Read from standard input, so that it is not on curl's command line (ps shows that);
            # curl 7.58 and later do not send it on to another host when a download redirects.
            printf 'header = "Authorization: Bearer %s"\n' "$ag_token" | curl --config - "$@" -fsSL --retry 3 -o "$_f" "$_u"
        else
            curl "$@" -fsSL --retry 3 -o "$_f" "$_u"
        fi
    else
        [ -z "$ag_id" ] || set -- "$@" --header="X-Install-Id: $ag_id"
        [ -z "$ag_channel" ] || set -- "$@" --header="X-Release-Channel: $ag_channel"
        wget -q "$@" -O "$_f" "$_u"
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

# --- minisign signatures with openssl -------------------------------------------------------
#
# A minisign public key is base64 of "Ed" + key id (8 bytes) + Ed25519 key (32); a .minisig is an
# untrusted comment, base64 of "ED" (or the legacy "Ed") + key id + signature (64), a trusted
# comment, and base64 of a second signature over the first signature followed by the trusted
# comment's text. "ED" signs the BLAKE2b-512 digest of the file, "Ed" the file itself. openssl
# gets the key as a PEM SubjectPublicKeyInfo: a fixed 12-byte DER prefix, then the 32 key bytes.

# hex_of FILE: FILE's bytes as one line of lowercase hex.
hex_of() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

# hex_to_file HEX FILE: writes the bytes HEX spells (through printf's octal escapes).
hex_to_file() {
    _fmt=$(printf '%s\n' "$1" | awk '{
        for (i = 1; i < length($0); i += 2)
            printf "\\%03o", (index("0123456789abcdef", substr($0, i, 1)) - 1) * 16 + index("0123456789abcdef", substr($0, i + 1, 1)) - 1
    }')
    # shellcheck disable=SC2059 # the format is the bytes, spelled as octal escapes
    printf "$_fmt" >"$2"
}

# hex_slice HEX START LENGTH (in hex digits, from 1)
hex_slice() {
    printf '%s\n' "$1" | awk -v s="$2" -v n="$3" '{print substr($0, s, n)}'
}

# b64_hex TEXT: the bytes TEXT's base64 decodes to, as hex (short or empty when it is not base64).
b64_hex() {
    printf '%s\n' "$1" | openssl base64 -d -A 2>/dev/null | od -An -v -tx1 | tr -d ' \n'
}

# pem_of KEYHEX FILE: the Ed25519 public key KEYHEX as a PEM file.
pem_of() {
    hex_to_file "302a300506032b6570032100$1" "$2.der" &&
        { echo '-----BEGIN PUBLIC KEY-----' && openssl base64 <"$2.der" && echo '-----END PUBLIC KEY-----'; } >"$2"
}

# ed25519_ok PEM MESSAGE SIGNATURE
ed25519_ok() {
    openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1
}

# openssl_can_verify DIR: whether this openssl does Ed25519 (pkeyutl -rawin) and BLAKE2b-512,
# checked on a known answer in scratch DIR, accepting the good signature and refusing a bad one.
# OpenSSL 1.1.1 and later pass; LibreSSL (macOS's openssl) and older OpenSSL do not.
openssl_can_verify() {
    has openssl && has od || return 1
    _w="$1/probe"
    mkdir -p "$_w" && hex_to_file 72 "$_w/msg" && hex_to_file 73 "$_w/bad" &&
        hex_to_file "$AG_PROBE_SIG" "$_w/sig" && pem_of "$AG_PROBE_PK" "$_w/key.pem" &&
        ed25519_ok "$_w/key.pem" "$_w/msg" "$_w/sig" && ! ed25519_ok "$_w/key.pem" "$_w/bad" "$_w/sig" &&
        [ "$(openssl dgst -blake2b512 -binary "$_w/msg" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')" = "$AG_PROBE_HASH" ]
}

# openssl_verify FILE MINISIG KEY: what `minisign -V` checks, with openssl: the key ids match,
# the signature of FILE (prehashed with BLAKE2b-512 for "ED") and the trusted comment's signature.
openssl_verify() {
    _w="$1.verify"
    mkdir -p "$_w" || return 1
    _pk=$(b64_hex "$3")
    { [ ${#_pk} -eq 84 ] && [ "$(hex_slice "$_pk" 1 4)" = 4564 ]; } || return 1
    _sig=$(b64_hex "$(awk 'NR == 2' "$2" | tr -d '\r')")
    [ ${#_sig} -eq 148 ] || return 1
    [ "$(hex_slice "$_sig" 5 16)" = "$(hex_slice "$_pk" 5 16)" ] || return 1
    _tc=$(awk 'NR == 3' "$2" | tr -d '\r')
    case "$_tc" in
        'trusted comment: '*) _tc=${_tc#"trusted comment: "} ;;
        *) return 1 ;;
    esac
    _gsig=$(b64_hex "$(awk 'NR == 4' "$2" | tr -d '\r')")
    [ ${#_gsig} -eq 128 ] || return 1
    pem_of "$(hex_slice "$_pk" 21 64)" "$_w/key.pem" || return 1
    case "$(hex_slice "$_sig" 1 4)" in
        4544) openssl dgst -blake2b512 -binary "$1" >"$_w/msg" || return 1 ;;
        4564) cp "$1" "$_w/msg" || return 1 ;;
        *) return 1 ;;
    esac
    hex_to_file "$(hex_slice "$_sig" 21 128)" "$_w/sig" && ed25519_ok "$_w/key.pem" "$_w/msg" "$_w/sig" || return 1
    { cat "$_w/sig" && printf '%s' "$_tc"; } >"$_w/global" &&
        hex_to_file "$_gsig" "$_w/gsig" && ed25519_ok "$_w/key.pem" "$_w/global" "$_w/gsig"
}

# signature_tool DIR: minisign, else openssl when it can verify (probed in scratch DIR), else fails.
signature_tool() {
    if has minisign; then
        echo minisign
    elif openssl_can_verify "$1"; then
        echo openssl
    else
        return 1
    fi
}

# unverified REQUIRE: no tool can verify the signature of SHA256SUMS; refuse, or say so loudly.
unverified() {
    _why='neither minisign nor an openssl that does Ed25519 and BLAKE2b-512 (OpenSSL 1.1.1 or later; macOS ships LibreSSL, which cannot) is installed'
    if [ "$1" = 1 ]; then
        die "cannot verify the signature of SHA256SUMS: $_why; --require-signature refuses to install unverified, nothing was installed" \
            "install minisign (https://jedisct1.github.io/minisign/) or OpenSSL 1.1.1 or later, then run the installer again" 1
    fi
    warn '**********************************************************************************'
    warn "THE SIGNATURE OF SHA256SUMS IS NOT VERIFIED: $_why."
    warn 'The archive is checked only against a SHA256SUMS from the same server, which whoever'
    warn 'controls that server or the connection can replace along with the archive.'
    warn 'Install minisign or OpenSSL 1.1.1+ and run again; --require-signature refuses this.'
    warn '**********************************************************************************'
}

# verify_signature URL SUMS KEY TOOL QUERY: SHA256SUMS.minisig must exist and verify with KEY.
verify_signature() {
    case "$4" in
        minisign) _how='minisign is installed' ;;
        *) _how='openssl can verify minisign signatures' ;;
    esac
    if ! download "$1/SHA256SUMS.minisig$5" "$2.minisig"; then
        die "$_how but $1/SHA256SUMS.minisig could not be downloaded; nothing was installed"
    fi
    if [ "$4" = minisign ]; then
        minisign -Vq -P "$3" -m "$2" -x "$2.minisig" >/dev/null 2>&1
    else
        openssl_verify "$2" "$2.minisig" "$3"
    fi || die "the minisign signature of SHA256SUMS does not verify with key $3 (checked with $4); nothing was installed" \
        "the release was not signed by the auditgraph project key"
    say "verified the minisign signature of SHA256SUMS ($4)"
}

# --- install id and receipt -----------------------------------------------------------------

# The user's auditgraph config directory (shared with `auditgraph upgrade`).
config_dir() {
    if [ -n "${XDG_CONFIG_HOME:-}" ]; then
        echo "$XDG_CONFIG_HOME/auditgraph"
    elif [ -n "${HOME:-}" ]; then
        echo "$HOME/.config/auditgraph"
    else
        return 1
    fi
}

valid_id() {
    case "$1" in
        '' | *[!0-9a-f]*) return 1 ;;
    esac
    [ ${#1} -eq 32 ]
}

# Sets ag_id from the config directory's install-id, made there (16 random bytes as hex,
# created without replacing one another process just made) when there is none yet. Without a
# config directory or /dev/urandom, no id is sent.
load_install_id() {
    _cd=$(config_dir) || return 0
    _f="$_cd/install-id"
    _id=$(head -n 1 "$_f" 2>/dev/null)
    if valid_id "$_id"; then
        ag_id=$_id
        return 0
    fi
    _id=$(od -An -N16 -v -tx1 /dev/urandom 2>/dev/null | tr -d ' \n')
    valid_id "$_id" || return 0
    ag_id=$_id
    if ! { mkdir -p "$_cd" 2>/dev/null && printf '%s\n' "$_id" >"$_f.tmp.$$" 2>/dev/null; }; then
        rm -f "$_f.tmp.$$"
        return 0
    fi
    if [ -f "$_f" ]; then
        mv -f "$_f.tmp.$$" "$_f" 2>/dev/null # an unreadable id: replaced
    elif ! ln "$_f.tmp.$$" "$_f" 2>/dev/null; then
        _id=$(head -n 1 "$_f" 2>/dev/null) # made by another process meanwhile: use that one
        ! valid_id "$_id" || ag_id=$_id
    fi
    rm -f "$_f.tmp.$$"
}

# json_string TEXT: TEXT as a JSON string (backslash, quote, tab and newline escaped).
json_string() {
    printf '%s' "$1" | awk '
        { if (NR > 1) o = o "\\n"
          for (i = 1; i <= length($0); i++) {
              c = substr($0, i, 1)
              if (c == "\\" || c == "\"") o = o "\\" c
              else if (c == "\t") o = o "\\t"
              else o = o c
          } }
        END { printf "\"%s\"", o }'
}

# write_receipt BASE CHANNEL DIR VERSION: install.json in the config directory, replaced atomically.
write_receipt() {
    _cd=$(config_dir) || return 0
    _ch=null
    [ -z "$2" ] || _ch=$(json_string "$2")
    _r="$_cd/install.json"
    if mkdir -p "$_cd" 2>/dev/null && printf '{\n  "source": %s,\n  "channel": %s,\n  "install_dir": %s,\n  "version": %s,\n  "method": "install.sh"\n}\n' \
        "$(json_string "$1")" "$_ch" "$(json_string "$3")" "$(json_string "$4")" >"$_r.tmp.$$" 2>/dev/null &&
        mv -f "$_r.tmp.$$" "$_r" 2>/dev/null; then
        return 0
    fi
    rm -f "$_r.tmp.$$"
    warn "could not record this install in $_r; 'auditgraph upgrade' and '--uninstall' will not find it"
}

# receipt_dir: the install_dir recorded in install.json (a JSON string, in any layout), or fails.
receipt_dir() {
    _cd=$(config_dir) || return 1
    [ -f "$_cd/install.json" ] || return 1
    awk '
        { t = t $0 "\n" }
        END {
            k = index(t, "\"install_dir\"")
            if (k == 0) exit 1
            i = k + 13
            while (i <= length(t) && index(" \t\r\n:", substr(t, i, 1)) > 0) i++
            if (substr(t, i, 1) != "\"") exit 1
            o = ""
            for (i++; i <= length(t); i++) {
                c = substr(t, i, 1)
                if (c == "\"") { print o; exit 0 }
                if (c == "\\") {
                    i++
                    c = substr(t, i, 1)
                    if (c == "n") c = "\n"
                    else if (c == "t") c = "\t"
                }
                o = o c
            }
            exit 1
        }' "$_cd/install.json"
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

# rc_safe DIR: whether DIR can go between double quotes in an rc line as it is (sh and fish
# expand $ and backquotes there, and a quote or a newline would end the line early).
rc_safe() {
    case "$1" in
        *'"'* | *'$'* | *'`'* | *\\* | *"
"*) return 1 ;;
    esac
    return 0
}

# completion_file SHELL DIR: where SHELL's completion script goes: the system's directories for root
# installing to /usr/local/bin, otherwise the user's (bash-completion and fish load these by
# themselves; zsh needs the directory on fpath).
completion_file() {
    if [ "$(id -u 2>/dev/null)" = 0 ] && [ "$2" = /usr/local/bin ]; then
        case "$1" in
            bash) echo /usr/local/share/bash-completion/completions/auditgraph ;;
            zsh) echo /usr/local/share/zsh/site-functions/_auditgraph ;;
            fish) echo /usr/local/share/fish/vendor_completions.d/auditgraph.fish ;;
        esac
    elif [ -n "${HOME:-}" ]; then
        case "$1" in
            bash) echo "${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions/auditgraph" ;;
            zsh) echo "${XDG_DATA_HOME:-$HOME/.local/share}/zsh/site-functions/_auditgraph" ;;
            fish) echo "${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/auditgraph.fish" ;;
        esac
    else
        return 1
    fi
}

# install_completions DIR: `DIR/auditgraph completion SHELL` into each shell's directory. A
# release without the completion command, or a directory that cannot be written, is skipped.
install_completions() {
    _n=0
    _zdir=''
    for _sh in bash zsh fish; do
        _file=$(completion_file "$_sh" "$1") || return 0
        if mkdir -p "$(dirname "$_file")" 2>/dev/null &&
            "$1/auditgraph" completion "$_sh" >"$_file.tmp.$$" 2>/dev/null && [ -s "$_file.tmp.$$" ] &&
            mv -f "$_file.tmp.$$" "$_file" 2>/dev/null; then
            _n=$((_n + 1))
            [ "$_sh" != zsh ] || _zdir=$(dirname "$_file")
        else
            rm -f "$_file.tmp.$$"
        fi
    done
    [ "$_n" -gt 0 ] || return 0
    say "installed shell completions for bash, zsh and fish"
    case "${SHELL:-}" in
        */zsh) say "for zsh, add this line before compinit in your .zshrc: fpath=(\"$_zdir\" \$fpath)" ;;
    esac
}

uninstall() {
    _dir=$1
    if [ -e "$_dir/auditgraph" ]; then
        rm -f "$_dir/auditgraph" || die "cannot remove $_dir/auditgraph" "check the permissions of $_dir" 1
        say "removed $_dir/auditgraph"
        # the version the last 'auditgraph upgrade' replaced, kept for --rollback
        if [ -e "$_dir/.auditgraph.previous" ]; then
            rm -f "$_dir/.auditgraph.previous" && say "removed $_dir/.auditgraph.previous"
        fi
    else
        say "auditgraph is not installed in $_dir"
    fi
    for _sh in bash zsh fish; do
        if _file=$(completion_file "$_sh" "$_dir") && [ -f "$_file" ]; then
            rm -f "$_file" && say "removed $_file"
        fi
    done
    if _cd=$(config_dir) && [ -f "$_cd/install.json" ] && [ "$(receipt_dir)" = "$_dir" ]; then
        rm -f "$_cd/install.json"
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

# version_order A B: -1, 0 or 1 as version A sorts before, with or after B (numeric dotted parts;
# a pre-release, 1.2.0-rc.1, before its release).
version_order() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        na = split(a, x, "-"); nb = split(b, y, "-")
        la = split(x[1], p, "."); lb = split(y[1], q, ".")
        for (i = 1; i <= (la > lb ? la : lb); i++) {
            if (p[i] + 0 < q[i] + 0) { print -1; exit }
            if (p[i] + 0 > q[i] + 0) { print 1; exit }
        }
        if (na > 1 && nb == 1) { print -1; exit }
        if (na == 1 && nb > 1) { print 1; exit }
        print (x[2] < y[2]) ? -1 : (x[2] > y[2]) ? 1 : 0
    }'
}

# install_release DIR BASE VERSION TARGET KEY REQUIRE: installs, then sets ag_installed to the
# version now in DIR.
install_release() {
    _dir=$1 _base=$2 _version=$3 _target=$4 _key=$5 _require=$6 _tagdir=${7:-}
    _asset="auditgraph-$_target.tar.gz"
    _q=''
    if [ "$_version" = latest ]; then
        _url="$_base/releases/latest/download"
        # A release server picks the channel's release (and the rollout's) per request.
        [ -z "$ag_channel" ] || _q="?channel=$ag_channel"
    elif [ -n "$_tagdir" ]; then
        _url="$_base/releases/download/$_tagdir"
    else
        _url="$_base/releases/download/v${_version#v}"
    fi

    has curl || has wget || die "neither curl nor wget is installed; install one of them" '' 1
    if [ -n "$ag_token" ]; then
        # wget, and curl before 7.58, send the header on to whatever host a download redirects to
        # (a release server redirects downloads to its object store).
        has curl || die "a token (AUDITGRAPH_TOKEN or RELEASES_TOKEN) needs curl to be sent safely; install curl" '' 1
        case "$(curl --version 2>/dev/null | awk 'NR == 1 {print $2}')" in
            [0-6].* | 7.[0-9] | 7.[0-9].* | 7.[1-4][0-9].* | 7.5[0-7].*)
                die "a token needs curl 7.58 or later (older ones send it on to other hosts when a download redirects)" '' 1 ;;
        esac
        case "$_base" in
            http://*) warn "the token goes to $_base over plain http: anyone on the way can read it" ;;
        esac
    fi
    has tar || die "tar is not installed" '' 1
    _tool=$(sha256_tool) || die "no SHA-256 tool found (sha256sum, shasum or openssl); nothing was installed" \
        "install coreutils, perl's shasum or openssl, then run the installer again" 1

    mkdir -p "$_dir" 2>/dev/null || die "cannot create the install directory $_dir" \
        "choose another with --install-dir, or run with permission to write there" 1
    # mv would put the binary inside it, and report it installed.
    [ ! -d "$_dir/auditgraph" ] || die "$_dir/auditgraph is a directory; nothing was installed" \
        "remove it, or choose another directory with --install-dir" 1
    # Staging directories an installer killed by a signal it could not trap (KILL) left: an hour old
    # or more, so a concurrent install's is left alone.
    find "$_dir" -maxdepth 1 -type d -name '.auditgraph-install.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || :
    ag_stage=$(mktemp -d "$_dir/.auditgraph-install.XXXXXX" 2>/dev/null) ||
        die "cannot write to the install directory $_dir; nothing was changed" \
            "choose another with --install-dir, or run with permission to write there" 1
    _sigtool=$(signature_tool "$ag_stage") || _sigtool=''
    [ -n "$_sigtool" ] || unverified "$_require"

    say "downloading $_asset ($_version${ag_channel:+, channel $ag_channel}) from $_url"
    download "$_url/SHA256SUMS$_q" "$ag_stage/SHA256SUMS" ||
        die "download of $_url/SHA256SUMS failed; nothing was installed" \
            "check the version ('$_version'), the channel ('${ag_channel:-default}'), the base URL and your connection" 1
    if [ -n "$_sigtool" ]; then
        verify_signature "$_url" "$ag_stage/SHA256SUMS" "$_key" "$_sigtool" "$_q"
    fi
    download "$_url/$_asset$_q" "$ag_stage/$_asset" ||
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
    ag_installed=$_new
    if [ -z "$_old" ]; then
        say "installed auditgraph $_new ($_target) to $_dir/auditgraph"
    else
        case "$(version_order "$_new" "$_old")" in
            1) say "upgraded auditgraph $_old -> $_new ($_target) in $_dir/auditgraph" ;;
            -1) say "downgraded auditgraph $_old -> $_new ($_target) in $_dir/auditgraph" ;;
            *) say "reinstalled auditgraph $_new ($_target) in $_dir/auditgraph" ;;
        esac
    fi
}

main() {
    # zsh runs this file as sh when emulating it (function-scoped EXIT traps, word splitting).
    [ -z "${ZSH_VERSION:-}" ] || emulate sh
    # RELEASES_BASE_URL, RELEASES_VERSION and RELEASES_TAG: what a release server's install command
    # passes (its package browser's `curl … | RELEASES_BASE_URL=… sh`), below this installer's own
    # settings. RELEASES_TAG is the release's tag as a URL path segment, used as it is.
    _version=${AUDITGRAPH_VERSION:-${RELEASES_VERSION:-latest}}
    _tagdir=''
    [ -n "${AUDITGRAPH_VERSION:-}" ] || _tagdir=${RELEASES_TAG:-}
    _dir=${AUDITGRAPH_INSTALL_DIR:-}
    _base=${AUDITGRAPH_DOWNLOAD_URL:-${RELEASES_BASE_URL:-$AG_DEFAULT_BASE}}
    _server_base=0
    [ -n "${AUDITGRAPH_DOWNLOAD_URL:-}" ] || [ -z "${RELEASES_BASE_URL:-}" ] || _server_base=1
    _target=${AUDITGRAPH_TARGET:-}
    _key=${AUDITGRAPH_MINISIGN_KEY:-$AG_PUBKEY}
    ag_channel=${AUDITGRAPH_CHANNEL:-}
    _require=0
    case "${AUDITGRAPH_REQUIRE_SIGNATURE:-}" in
        '' | 0 | false | no) ;;
        *) _require=1 ;;
    esac
    _modify=0
    _uninstall=0
    _completions=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --version | --install-dir | --base-url | --target | --minisign-key | --channel)
                { [ $# -ge 2 ] && [ -n "$2" ]; } || die "$1 needs a value (see --help)" '' 2
                case "$1" in
                    --version) _version=$2; _tagdir='' ;;
                    --install-dir) _dir=$2 ;;
                    --base-url) _base=$2; _server_base=0 ;;
                    --target) _target=$2 ;;
                    --minisign-key) _key=$2 ;;
                    --channel) ag_channel=$2 ;;
                esac
                shift 2 ;;
            --require-signature) _require=1; shift ;;
            --modify-path) _modify=1; shift ;;
            --no-completions) _completions=0; shift ;;
            --uninstall) _uninstall=1; shift ;;
            --quiet | -q) ag_quiet=1; shift ;;
            --help | -h) usage; exit 0 ;;
            *) die "unknown option '$1' (see --help)" '' 2 ;;
        esac
    done
    _base=${_base%/}
    # A token goes only where it belongs: AUDITGRAPH_TOKEN to any base but the project's own,
    # RELEASES_TOKEN (the release server's command passes it) only to the base that server gave.
    if [ -n "${AUDITGRAPH_TOKEN:-}" ]; then
        [ "$_base" = "$AG_DEFAULT_BASE" ] || ag_token=$AUDITGRAPH_TOKEN
    elif [ -n "${RELEASES_TOKEN:-}" ] && [ "$_server_base" = 1 ]; then
        ag_token=$RELEASES_TOKEN
    fi
    case "$ag_token" in
        *[!A-Za-z0-9._~+/=-]*) die "the token holds characters a bearer token does not (letters, digits and . _ ~ + / = - only)" '' 2 ;;
    esac
    case "$ag_channel" in
        '') ;;
        ?????????????????????????????????* | [a-z]*[!a-z0-9-]* | [!a-z]*) die "'$ag_channel' is not a channel name (lowercase letters, digits and '-', starting with a letter)" '' 2 ;;
    esac

    _explicit=1
    if [ -z "$_dir" ]; then
        _explicit=0
        _dir=$(default_install_dir) || exit $?
    fi
    case "$_dir" in
        *"
"*) die "the install directory's name holds a newline; choose another with --install-dir" '' 2 ;;
        /*) ;;
        .) _dir=$(pwd) ;;
        *) _dir="$(pwd)/${_dir#./}" ;; # relative to where the installer runs, fixed now: PATH and rc lines need it absolute
    esac
    while [ "$_dir" != / ] && [ "${_dir%/}" != "$_dir" ]; do _dir=${_dir%/}; done
    # Print-only hook for tests and bug reports: AUDITGRAPH_INSTALL_PRINT=target (or install-dir)
    # prints the build this machine would get (or where it would go) and exits.
    case "${AUDITGRAPH_INSTALL_PRINT:-}" in
        target) detect_target; exit $? ;;
        install-dir) echo "$_dir"; exit 0 ;;
    esac
    if [ "$_uninstall" = 1 ]; then
        # Without a directory, the one the last install recorded.
        if [ "$_explicit" = 0 ] && _recorded=$(receipt_dir) && [ -n "$_recorded" ]; then
            _dir=$_recorded
        fi
        uninstall "$_dir"
        exit 0
    fi
    if [ "$_modify" = 1 ] && ! rc_safe "$_dir"; then
        die "--modify-path cannot write '$_dir' into a shell profile: the name holds a quote, \$, a backquote or a backslash" \
            "choose another --install-dir, or add the directory to PATH yourself" 2
    fi
    [ -n "$_target" ] || _target=$(detect_target) || exit $?

    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    load_install_id
    install_release "$_dir" "$_base" "$_version" "$_target" "$_key" "$_require" "$_tagdir"
    write_receipt "$_base" "$ag_channel" "$_dir" "$ag_installed"
    [ "$_completions" = 0 ] || install_completions "$_dir"

    if [ "$_modify" = 1 ]; then
        modify_path "$_dir"
    else
        case ":${PATH:-}:" in
            *":$_dir:"*) ;;
            *)
                if rc_safe "$_dir"; then
                    say "$_dir is not on your PATH; add it with: $(path_line "$_dir")"
                else
                    say "$_dir is not on your PATH; add it to PATH in your shell's profile"
                fi ;;
        esac
    fi
}

main "$@"
