#!/usr/bin/env bash
# Builds kube-apiserver from Debian's `kubernetes` source package (1.20.2) and
# caches it outside the repository. Installs etcd from Debian. Idempotent: a
# cached binary is reused. See DESIGN.md "A real Kubernetes API server".
#
#   BREAKGLASS_CACHE   cache directory (default: ~/.cache/breakglass)
#
# Prints the path of the kube-apiserver binary on its last line.
set -euo pipefail

cache="${BREAKGLASS_CACHE:-$HOME/.cache/breakglass}"
bin="$cache/kube-apiserver-1.20.2"
mkdir -p "$cache"

log() { printf '[build-apiserver] %s\n' "$*" >&2; }

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then sudo_ apt-get update -qq >&2; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# etcd is needed to run the API server whether or not we build it.
apt_install etcd-server openssl

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev

# A deb-src line for bookworm main, so `apt-get source` can find the package.
src_list=/etc/apt/sources.list.d/breakglass-src.sources
if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
  log "adding deb-src for bookworm main"
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    | sudo_ tee "$src_list" >/dev/null
  sudo_ apt-get update -qq >&2
fi

work="$cache/src"
rm -rf "$work"; mkdir -p "$work"
cd "$work"
log "apt-get source kubernetes"
apt-get source --download-only kubernetes >&2
dpkg-source --no-check -x kubernetes_*.dsc kubernetes >&2
tree="$work/kubernetes"

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
log "building kube-apiserver (about 5 minutes on 2 cores)"
export GOPATH="$tree/.go" CGO_ENABLED=0 GOCACHE="$cache/gocache" PATH="/usr/lib/go/bin:$PATH"
unset GOFLAGS GO111MODULE
env HOME="$work/home" make WHAT=cmd/kube-apiserver >&2
cp "$tree/_output/bin/kube-apiserver" "$bin.tmp"
mv "$bin.tmp" "$bin"
cd "$cache"; rm -rf "$work"
log "built $bin"
echo "$bin"
