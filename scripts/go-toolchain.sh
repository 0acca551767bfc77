# Sourced by the scripts that build Go tools: puts a Go toolchain of at least GO_MIN on PATH. It uses the Go
# already here (PATH, then /usr/local/go/bin) when it is new enough; otherwise it fetches the pinned
# toolchain from the Go module proxy (the same zip `GOTOOLCHAIN=go1.x` would fetch), checks its sha256,
# and unpacks it once into ${PASSVOL_TOOLS_DIR:-$PWD/.tools}/go. Debian's own golang-go is too old for the
# pinned tools (kustomize v5.8.2 needs Go 1.26).
GO_MIN=1.26
GO_PINNED=1.26.8
# sha256 of golang.org/toolchain@v0.0.1-go${GO_PINNED}.linux-<arch>.zip, as the proxy serves it.
declare -A GO_ZIP_SHA256=(
  [amd64]=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
)

go_new_enough() {
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  v="${v#go}"
  [[ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -1)" == "$GO_MIN" ]]
}

use_go() {
  local candidate
  for candidate in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go; do
    if [[ -n "$candidate" && -x "$candidate" ]] && go_new_enough "$candidate"; then
      export PATH="$(dirname "$candidate"):$PATH"
      return 0
    fi
  done
  local tools="${PASSVOL_TOOLS_DIR:-$PWD/.tools}"
  local root="$tools/go"
  if [[ -x "$root/bin/go" ]] && go_new_enough "$root/bin/go"; then
    export PATH="$root/bin:$PATH" GOROOT="$root"
    return 0
  fi
  local arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  local sum="${GO_ZIP_SHA256[$arch]:-}"
  if [[ -z "$sum" ]]; then
    echo "go-toolchain: no Go >= $GO_MIN here, and no pinned toolchain for linux-$arch: install Go $GO_MIN or later" >&2
    return 1
  fi
  local proxy="${GOPROXY:-https://proxy.golang.org}"
  proxy="${proxy%%[,|]*}"
  [[ "$proxy" == direct || "$proxy" == off ]] && proxy=https://proxy.golang.org
  local name="v0.0.1-go${GO_PINNED}.linux-${arch}"
  local zip="$tools/go-${GO_PINNED}.zip"
  mkdir -p "$tools"
  echo "go-toolchain: no Go >= $GO_MIN here; fetching go${GO_PINNED} from $proxy" >&2
  curl -fL --retry 3 --progress-bar -o "$zip.part" "$proxy/golang.org/toolchain/@v/$name.zip"
  if ! echo "$sum  $zip.part" | sha256sum -c --quiet -; then
    rm -f "$zip.part"
    echo "go-toolchain: the downloaded toolchain does not match its pinned sha256" >&2
    return 1
  fi
  rm -rf "$root" "$tools/go.unpack"
  unzip -q "$zip.part" -d "$tools/go.unpack"
  local unpacked="$tools/go.unpack/golang.org/toolchain@$name"
  # As cmd/go installs a toolchain module: a module zip cannot hold nested go.mod files, so they travel as
  # _go.mod; and its executables get their mode back.
  find "$unpacked" -name _go.mod -exec sh -c 'cp "$1" "$(dirname "$1")/go.mod"' _ {} \;
  chmod -R a+rX "$unpacked"
  chmod a+x "$unpacked"/bin/* "$unpacked"/pkg/tool/*/*
  if ! "$unpacked/bin/go" version >/dev/null; then
    rm -rf "$tools/go.unpack" "$zip.part"
    echo "go-toolchain: the unpacked toolchain does not run" >&2
    return 1
  fi
  mv "$unpacked" "$root"
  rm -rf "$tools/go.unpack" "$zip.part"
  export PATH="$root/bin:$PATH" GOROOT="$root"
  echo "go-toolchain: using $("$root/bin/go" version)" >&2
}
