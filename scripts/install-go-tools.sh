#!/usr/bin/env bash
# Installs the pinned Go tools used by tests and CI into
#   ${PASSVOL_TOOLS_DIR:-$PWD/.tools}/bin
# through the Go module proxy (`go install module@version`).
#
# Idempotent: each tool has a stamp file <bin>/<tool>.version holding the
# "module@version" it was built from; a tool whose binary exists and whose
# stamp matches is skipped.
#
# Tools:
#   csi-sanity  - CSI spec conformance suite (github.com/kubernetes-csi/csi-test)
#   kustomize   - renders deploy/ for test/deploy/manifests.test.mjs
#   crictl      - drives containerd's CRI as kubelet does, for test/e2e/cri-pod.test.ts
# and builds passvol-caps-exec (src/agent/caps-exec), which the guest image carries.
set -euo pipefail

# A Go new enough for the pinned tools: the one here, or the pinned toolchain from the module proxy.
source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"
use_go

TOOLS_DIR="${PASSVOL_TOOLS_DIR:-$PWD/.tools}"
BIN_DIR="$TOOLS_DIR/bin"
mkdir -p "$BIN_DIR"
BIN_DIR="$(cd "$BIN_DIR" && pwd)"

# name|module path (package to build)|version
TOOLS=(
  "csi-sanity|github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity|v5.6.0"
  "kustomize|sigs.k8s.io/kustomize/kustomize/v5|v5.8.2"
  "crictl|sigs.k8s.io/cri-tools/cmd/crictl|v1.37.0"
)

# Static builds with the Go that is here: never fetch another toolchain
# (kustomize v5.8.3 already needs go >= 1.27, hence the v5.8.2 pin).
export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOTOOLCHAIN=local

install_tool() {
  local name="$1" module="$2" version="$3"
  local want="${module}@${version}"
  local bin="$BIN_DIR/$name"
  local stamp="$BIN_DIR/$name.version"

  if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "install-go-tools: $name $version already installed ($bin)"
    return 0
  fi

  local start=$SECONDS
  rm -f "$stamp"
  GOBIN="$BIN_DIR" go install "$want"
  if [[ ! -x "$bin" ]]; then
    echo "install-go-tools: go install $want did not produce $bin" >&2
    return 1
  fi
  printf '%s\n' "$want" >"$stamp"
  echo "install-go-tools: $name $version installed in $((SECONDS - start))s ($bin)"
}

for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name module version <<<"$entry"
  install_tool "$name" "$module" "$version"
done

# passvol's own: the guest agent's capability helper (src/agent/caps-exec), static, built from the
# repository (go's build cache makes a rebuild of unchanged source instant); the image build takes it from here.
start=$SECONDS
(cd src/agent/caps-exec && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$BIN_DIR/passvol-caps-exec" .)
echo "install-go-tools: passvol-caps-exec built in $((SECONDS - start))s ($BIN_DIR/passvol-caps-exec)"
