#!/usr/bin/env bash
# Runs the pinned csi-sanity against a freshly started passvol driver.
#   run-csi-sanity.sh disk [extra csi-sanity flags]
set -euo pipefail
kind=${1:?disk or nas}; shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
sanity="$repo/.tools/bin/csi-sanity"
[ -x "$sanity" ] || { echo "csi-sanity is not installed: run scripts/install-go-tools.sh" >&2; exit 1; }
work=$(mktemp -d /tmp/passvol-sanity-XXXXXX)
# Extra driver flags (for example the NAS export mapping), space separated.
read -r -a driver_flags <<<"${PASSVOL_SANITY_DRIVER_FLAGS:-}"
mkdir -p "$work/kubelet"
node --import tsx "$repo/src/cli/main.ts" csi serve --driver "$kind" --endpoint "unix://$work/csi.sock" --node-id sanity-node \
  --kubelet-root "$work/kubelet" --direct-volume-root "$work/direct-volumes" --disk-pool-dir "$work/pool" --no-kubernetes --log-level "${PASSVOL_SANITY_LOG_LEVEL:-info}" "${driver_flags[@]}" \
  >"$work/driver.log" 2>&1 &
driver=$!
cleanup() {
  kill "$driver" 2>/dev/null || true
  wait "$driver" 2>/dev/null || true
  # A failed run can leave mounts and loop devices behind; never let them leak into the next run.
  grep -F " $work/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  losetup --list --noheadings --output NAME,BACK-FILE | awk -v w="$work/" 'index($2, w) == 1 {print $1}' | xargs -r -n1 losetup -d 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$work/csi.sock" ] && break; sleep 0.1; done
rc=0
"$sanity" --csi.endpoint "$work/csi.sock" --csi.mountdir "$work/kubelet/target" --csi.stagingdir "$work/kubelet/staging" \
  --csi.testvolumesize 67108864 --csi.testvolumeexpandsize 134217728 --ginkgo.no-color "$@" || rc=$?
if [ $rc -ne 0 ]; then echo "--- driver log (last 40 lines) ---"; tail -n 40 "$work/driver.log"; fi
exit $rc
