#!/usr/bin/env bash
# Builds the guest image (kernel, initramfs, agent disk) into ${PASSVOL_CACHE_DIR:-<repo>/.cache}/guest-image/,
# reusing every stage whose inputs did not change. Progress goes to stderr, the manifest path to stdout.
# Needs root for apt-get (kernel download, busybox-static) and the Debian packages listed in scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx src/guest-image/build-cli.ts "$@"
