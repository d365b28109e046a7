#!/usr/bin/env bash
# Installs code-server (a real VS Code: server plus web workbench) from npm into a cache folder
# outside the repository, offline-safe, and prints the path of its `code-server` binary.
#
# Why the dance: code-server's native modules build with node-gyp (which would download Node's
# headers unless pointed at the local ones), its postinstall refuses root without
# `unsafe_perm`, and @vscode/ripgrep downloads `rg` from GitHub unless it finds a cached
# archive in $TMPDIR. Only the npm and Debian registries are reachable, so all of that is
# satisfied locally. A second run with the cache in place returns at once.
#
# Environment: OOMPA_E2E_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/oompa-e2e),
# CODE_SERVER_VERSION (default 4.100.3: the last release whose install runs on Node 20).
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CACHE="${OOMPA_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oompa-e2e}"
PREFIX="$CACHE/code-server-$VERSION"
BIN="$PREFIX/node_modules/.bin/code-server"
APT_PACKAGES=(build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium git)

log() { echo "[install-code-server] $*" >&2; }

missing_apt_packages() {
  command -v dpkg-query >/dev/null || return 0 # not Debian: the packages are the user's business
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

ensure_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "missing Debian packages: ${missing[*]} (install them as root)"; exit 1; }
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2
}

node_prefix_with_headers() {
  # node-gyp needs <prefix>/include/node/node.h; Debian's and nodesource's Node put it under /usr
  local prefix
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  [[ -f "$prefix/include/node/node.h" ]] || { log "Node headers not found under $prefix/include/node"; exit 1; }
  echo "$prefix"
}

seed_ripgrep_cache() {
  # code-server's VS Code pins @vscode/ripgrep; its postinstall looks for
  # $TMPDIR/vscode-ripgrep-cache-<version>/ripgrep-<tag>-<target>.tar.gz before downloading
  local work="$1" rg_version tag target archive_dir
  (cd "$work" && npm pack --silent "code-server@$VERSION" >/dev/null)
  tar -xzf "$work/code-server-$VERSION.tgz" -C "$work" package/lib/vscode/npm-shrinkwrap.json
  rg_version="$(node -e '
    const s = require(process.argv[1]);
    console.log(s.packages["node_modules/@vscode/ripgrep"].version)' "$work/package/lib/vscode/npm-shrinkwrap.json")"
  (cd "$work" && npm pack --silent "@vscode/ripgrep@$rg_version" >/dev/null)
  tar -xzf "$work/vscode-ripgrep-$rg_version.tgz" -C "$work" package/lib/postinstall.js
  tag="$(sed -n "s/^const VERSION = '\(.*\)';.*/\1/p" "$work/package/lib/postinstall.js")"
  case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64) target=aarch64-unknown-linux-musl ;;
    *) log "unsupported architecture $(uname -m)"; exit 1 ;;
  esac
  archive_dir="$TMPDIR/vscode-ripgrep-cache-$rg_version"
  mkdir -p "$archive_dir" "$work/rg"
  cp "$(command -v rg)" "$work/rg/rg"
  tar -czf "$archive_dir/ripgrep-$tag-$target.tar.gz" -C "$work/rg" rg
  log "seeded ripgrep $rg_version ($tag) from $(command -v rg)"
}

main() {
  # checked every time: Chromium is needed by the tests even when code-server is cached
  ensure_apt_packages
  if [[ -f "$PREFIX/.complete" && -x "$BIN" ]]; then
    echo "$BIN"
    return 0
  fi
  mkdir -p "$CACHE/tmp" "$CACHE/xdg/config" "$CACHE/xdg/data" "$CACHE/xdg/cache" "$PREFIX"
  export TMPDIR="$CACHE/tmp" XDG_CONFIG_HOME="$CACHE/xdg/config" XDG_DATA_HOME="$CACHE/xdg/data" XDG_CACHE_HOME="$CACHE/xdg/cache"
  WORK="$(mktemp -d "$CACHE/tmp/work.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  seed_ripgrep_cache "$WORK"
  # ignore_scripts: when run from `npm run`, the caller's setting (the extension's .npmrc) is
  # inherited through the environment, and code-server's native modules need their scripts
  export npm_config_nodedir="$(node_prefix_with_headers)" npm_config_unsafe_perm=true npm_config_yes=true \
    npm_config_dangerously_allow_all_scripts=true npm_config_ignore_scripts=false \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
  log "npm install code-server@$VERSION into $PREFIX (about a minute, once)"
  rm -rf "$PREFIX/node_modules" # whatever an interrupted install left
  [[ -f "$PREFIX/package.json" ]] || echo '{"private": true}' >"$PREFIX/package.json"
  (cd "$PREFIX" && npm install --no-save --loglevel=error "code-server@$VERSION" >&2)
  "$BIN" --version >&2
  touch "$PREFIX/.complete"
  echo "$BIN"
}

main
