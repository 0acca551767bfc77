#!/usr/bin/env bash
# The main job: set up, then run the demonstration on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/passvol.js demo "$@"
