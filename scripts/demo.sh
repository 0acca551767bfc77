#!/usr/bin/env bash
# The main job: set up, then run the demonstration on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# Set-up prints progress only; stdout is for the demo (`npm run -s demo -- --json` prints only JSON lines).
bash scripts/setup.sh >&2
exec node bin/passvol.js demo "$@"
