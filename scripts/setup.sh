#!/usr/bin/env bash
# Installs what passvol needs on a fresh Debian machine, idempotently: Debian packages, npm packages,
# the build, and the pinned Go tools (csi-sanity, kustomize; with a Go toolchain from the module proxy when
# the machine has none new enough). Node.js 20 is the one thing it expects to find. Safe to run again: it
# only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# All of set-up's output (its own lines, npm, the Go tools, the builds) is progress: it goes to stderr, so a
# caller's stdout carries only that caller's results (`npm run -s demo -- --json` prints only JSON lines).
exec >&2

# Debian packages: tools the driver, the runtime and the tests call.
DEB_PACKAGES=(
  util-linux e2fsprogs xfsprogs kmod
  # a static busybox: the guest userland, and container rootfs in tests
  busybox-static
  # sandboxes: QEMU (with virtiofsd and the qboot firmware), and what the guest image is built with
  qemu-system-x86 qemu-utils cpio xz-utils
  # qemu-user: the agent's startup snapshot for TCG guests is made emulating their CPU model
  qemu-user
  # the embedded NAS: a user-space NFS server, and user-space NFS tools the tests read it back with
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
  # containerd (Debian 12's 1.6), which the containerd shim's end-to-end tests drive, and the CNI plugins
  # that give their pods a network (bridge, host-local) as a node's would
  containerd containernetworking-plugins
  # the benchmark: the same fio runs on the host and in the guest
  fio
  # fetching the pinned Go toolchain when the machine has no Go new enough (scripts/go-toolchain.sh)
  curl ca-certificates unzip
)

step() { printf '[setup] %s\n' "$*"; }

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[setup] missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
    exit 1
  fi
  step "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  step "Debian packages present"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  step "npm packages present"
fi

step "building (tsc)"
npm run -s build

if [ -f scripts/install-go-tools.sh ]; then
  bash scripts/install-go-tools.sh
fi
# The guest image (kernel from Debian's package, initramfs, agent disk), cached by content.
step "guest image"
node bin/passvol.js image build >/dev/null

# Kata's own direct-volume code, built from the Go module proxy, for the byte-compatibility test.
bash scripts/build-kata-compat.sh
step "done"
