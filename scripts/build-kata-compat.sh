#!/usr/bin/env bash
# Builds katacompat, a small command line around Kata Containers' own direct-volume Go package, for the
# byte-compatibility test test/compat/kata-direct-volume.test.mjs. The binary goes to
#   ${PASSVOL_TOOLS_DIR:-$PWD/.tools}/bin/katacompat
#
# Kata's module (github.com/kata-containers/kata-containers/src/runtime) comes through the Go module
# proxy at the version pinned in test/compat/kata-direct-volume/go.mod, checked against go.sum.
#
# KATA_RUNTIME_SRC=/path/to/kata-containers/src/runtime builds against a local checkout of Kata's runtime
# module instead (a temporary copy of go.mod gets a replace directive; the committed go.mod is not
# touched). Use it where the proxy does not serve the pinned version.
#
# Idempotent: nothing is rebuilt while the binary is newer than its sources and was built from the same
# Kata source (recorded in <bin>/katacompat.source).
set -euo pipefail

step() { printf '[build-kata-compat] %s\n' "$*"; }

# A Go new enough for the pinned tools: the one here, or the pinned toolchain from the module proxy.
source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"
use_go

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_DIR="$REPO_ROOT/test/compat/kata-direct-volume"
TOOLS_DIR="${PASSVOL_TOOLS_DIR:-$PWD/.tools}"
BIN_DIR="$TOOLS_DIR/bin"
mkdir -p "$BIN_DIR"
BIN_DIR="$(cd "$BIN_DIR" && pwd)"
BIN="$BIN_DIR/katacompat"
STAMP="$BIN_DIR/katacompat.source"

KATA_MODULE="github.com/kata-containers/kata-containers/src/runtime"
# The pin, read from go.mod without touching the network.
KATA_VERSION="$(cd "$SRC_DIR" && go mod edit -print | awk -v m="$KATA_MODULE" '$1 == "require" && $2 == m { print $3 } $1 == m { print $2 }' | head -n1)"
if [[ -z "$KATA_VERSION" ]]; then
  echo "[build-kata-compat] $SRC_DIR/go.mod does not require $KATA_MODULE" >&2
  exit 1
fi
if [[ -n "${KATA_RUNTIME_SRC:-}" ]]; then
  KATA_RUNTIME_SRC="$(cd "$KATA_RUNTIME_SRC" && pwd)"
  SOURCE="$KATA_MODULE => $KATA_RUNTIME_SRC"
else
  SOURCE="$KATA_MODULE@$KATA_VERSION"
fi

# Up to date: binary newer than every source file, built from the same Kata source.
up_to_date() {
  [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$SOURCE" ]] || return 1
  local f
  for f in "$SRC_DIR"/go.mod "$SRC_DIR"/go.sum "$SRC_DIR"/*.go "${BASH_SOURCE[0]}"; do
    [[ "$f" -nt "$BIN" ]] && return 1
  done
  if [[ -n "${KATA_RUNTIME_SRC:-}" ]]; then
    [[ -n "$(find "$KATA_RUNTIME_SRC/pkg/direct-volume" "$KATA_RUNTIME_SRC/go.mod" -newer "$BIN" -print -quit)" ]] && return 1
  fi
  return 0
}

if up_to_date; then
  step "katacompat up to date ($BIN, $SOURCE)"
  exit 0
fi

export CGO_ENABLED="${CGO_ENABLED:-0}"
start=$SECONDS
rm -f "$STAMP"
tmp=""
trap '[[ -n "$tmp" ]] && rm -rf "$tmp"' EXIT
modflags=()
if [[ -n "${KATA_RUNTIME_SRC:-}" ]]; then
  step "building katacompat against the local Kata runtime at $KATA_RUNTIME_SRC"
  tmp="$(mktemp -d)"
  cp "$SRC_DIR/go.mod" "$tmp/go.mod"
  cp "$SRC_DIR/go.sum" "$tmp/go.sum"
  (cd "$SRC_DIR" && go mod edit -modfile="$tmp/go.mod" -replace="$KATA_MODULE=$KATA_RUNTIME_SRC")
  modflags=(-modfile="$tmp/go.mod")
else
  step "getting $KATA_MODULE@$KATA_VERSION (module cache, else the Go module proxy: $(go env GOPROXY))"
  if ! dl_json="$(cd "$SRC_DIR" && go mod download -json "$KATA_MODULE" 2>&1)"; then
    printf '%s\n' "$dl_json" >&2
    echo "[build-kata-compat] could not download $KATA_MODULE@$KATA_VERSION; where the proxy does not serve it," >&2
    echo "[build-kata-compat] set KATA_RUNTIME_SRC to a checkout of kata-containers/src/runtime at that commit" >&2
    exit 1
  fi
  zip="$(printf '%s\n' "$dl_json" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",*$/\1/p')"
  if [[ -n "$zip" && -f "$zip" ]]; then
    step "module zip: $(du -h "$zip" | cut -f1) ($zip), fetched in $((SECONDS - start))s"
  fi
fi

step "compiling $SRC_DIR -> $BIN"
(cd "$SRC_DIR" && go build "${modflags[@]}" -trimpath -o "$BIN.tmp" .)
mv -f "$BIN.tmp" "$BIN"
printf '%s\n' "$SOURCE" >"$STAMP"
step "built katacompat in $((SECONDS - start))s ($SOURCE)"
