#!/usr/bin/env bash
# Builds kube-apiserver from Debian's `kubernetes` source package (1.20.2) and
# caches it outside the repository. Installs etcd from Debian. Idempotent: a
# cached binary is reused. Ships in the npm package: `breakglass demo` runs it.
#
#   BREAKGLASS_CACHE         cache directory (default: ~/.cache/breakglass)
#   BREAKGLASS_BUILD_TICK    seconds between progress lines (default: 20)
#
# Progress (phase and elapsed time) goes to stderr, a line every tick; the
# noisy output of apt and make goes to $cache/build.log. One build at a time
# per cache (flock on $cache/build.lock): a second caller waits, then finds
# the binary the first one built. The build happens in a fresh temporary
# directory and the binary is moved into place with one rename, so a killed
# build never leaves a half-written binary behind.
#
# Prints the path of the kube-apiserver binary on its last line (stdout).
set -euo pipefail

cache="${BREAKGLASS_CACHE:-$HOME/.cache/breakglass}"
bin="$cache/kube-apiserver-1.20.2"
tick="${BREAKGLASS_BUILD_TICK:-20}"
mkdir -p "$cache"
buildlog="$cache/build.log"
started=$(date +%s)
phase_file="$(mktemp "$cache/.phase.XXXXXX")"
work=""
ticker=""

log() { printf '[build-apiserver] %s\n' "$*" >&2; }
elapsed() { local s=$(($(date +%s) - started)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
phase() { printf '%s' "$*" >"$phase_file"; log "$(elapsed) $*"; }

cleanup() {
  [ -n "$ticker" ] && kill "$ticker" 2>/dev/null || true
  [ -n "$work" ] && rm -rf "$work"
  rm -f "$phase_file" "$bin.tmp.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A line every $tick seconds while anything slow runs: where we are and for how long.
start_ticker() {
  local parent=$$
  (
    trap - EXIT INT TERM
    while sleep "$tick" && kill -0 "$parent" 2>/dev/null; do
      lines=$(wc -l <"$buildlog" 2>/dev/null || echo 0)
      log "$(elapsed) still: $(cat "$phase_file" 2>/dev/null) (build.log: $lines lines)"
    done
  ) &
  ticker=$!
}

fail() {
  log "FAILED after $(elapsed) while: $(cat "$phase_file" 2>/dev/null)"
  log "last lines of $buildlog:"
  tail -n 30 "$buildlog" >&2 2>/dev/null || true
  exit 1
}

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_updated=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
    log "missing Debian packages: ${missing[*]}; run as root or with passwordless sudo, or install them first"
    exit 1
  fi
  phase "apt-get install ${missing[*]}"
  if [ -z "$apt_updated" ]; then sudo_ apt-get update -qq >>"$buildlog" 2>&1 || fail; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$buildlog" 2>&1 || fail
}

cached() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }

# deb-src entries for exactly the archives this machine already uses for
# binary packages (its own mirror, suites and keys): every `deb` line becomes a
# `deb-src` line, and every deb822 stanza of Types `deb` becomes one of Types
# `deb-src`. Written into a private apt directory, so the system's apt
# configuration is never changed and no mirror is named here.
derive_deb_src() { # $1: directory for sources.list and sources.list.d/
  local out="$1" f
  mkdir -p "$out/sources.list.d"
  : >"$out/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -E 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$f" >>"$out/sources.list"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() { if (isdeb && !disabled) printf "%s\n", stanza; stanza = ""; isdeb = 0; disabled = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/ { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) isdeb = 1; stanza = stanza "Types: deb-src\n"; next }
      /^Enabled:[[:space:]]*[Nn]o/ { disabled = 1 }
      { stanza = stanza $0 "\n" }
      END { flush() }
    ' "$f" >"$out/sources.list.d/$(basename "$f")"
  done
}

# apt-get with the private source lists from derive_deb_src (no root needed).
apt_private() { # $1: private apt directory; rest: apt-get arguments
  local d="$1"; shift
  apt-get -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts="$d/sources.list.d" \
    -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" "$@"
}

# The fast path: everything is there already.
if cached && dpkg -s etcd-server openssl >/dev/null 2>&1; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

# One build (and one apt-get) per cache. A second caller waits here, then
# uses what the first one built.
exec 9>"$cache/build.lock"
if ! flock -n 9; then
  phase "waiting for another build of kube-apiserver in $cache to finish"
  start_ticker
  flock 9
  kill "$ticker" 2>/dev/null || true; ticker=""
fi
# etcd is needed to run the API server whether or not we build it.
apt_install etcd-server openssl
if cached; then
  log "$(elapsed) built by the other process: $bin"
  echo "$bin"
  exit 0
fi

: >"$buildlog"
start_ticker
log "first run: building kube-apiserver from Debian's source, usually 10+ minutes on 2 cores; cached afterwards"
apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev

work="$(mktemp -d "$cache/build.XXXXXX")"
phase "finding the kubernetes source package (deb-src derived from this machine's apt sources)"
derive_deb_src "$work/apt"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
apt_private "$work/apt" update -qq >>"$buildlog" 2>&1 || fail
mkdir -p "$work/src"
cd "$work/src"
phase "downloading the kubernetes source package"
apt_private "$work/apt" source --download-only kubernetes >>"$buildlog" 2>&1 || {
  log "this machine's apt sources offer no kubernetes source package (Debian bookworm has 1.20.2)"
  fail
}
phase "unpacking the kubernetes source package"
dpkg-source --no-check -x kubernetes_*.dsc kubernetes >>"$buildlog" 2>&1 || fail
tree="$work/src/kubernetes"

# Vendored reflect2 1.0.1 panics under Go >= 1.18 on the first TokenRequest;
# Debian's 1.0.2 copy works. Its go.mod would turn it into a module: drop it.
r2="$tree/vendor/github.com/modern-go/reflect2"
rm -rf "$r2"; mkdir -p "$r2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2/. "$r2/"
rm -f "$r2/go.mod" "$r2/go.sum"

# GOPATH mode, as debian/rules builds it: .go/src/k8s.io/kubernetes points
# back at the tree, and `make WHAT=...` runs the code generators (openapi)
# that a plain `go build` would miss.
mkdir -p "$tree/.go/src/k8s.io"
ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
cd "$tree"
phase "compiling kube-apiserver (code generators, then go build)"
export GOPATH="$tree/.go" CGO_ENABLED=0 GOCACHE="$cache/gocache" PATH="/usr/lib/go/bin:$PATH"
unset GOFLAGS GO111MODULE
env HOME="$work/home" make WHAT=cmd/kube-apiserver >>"$buildlog" 2>&1 || fail

# Same directory, one rename: readers see the old state or the whole binary.
cp "$tree/_output/bin/kube-apiserver" "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
log "$(elapsed) built $bin"
echo "$bin"
