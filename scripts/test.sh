#!/usr/bin/env bash
# The test command: set up what the tests need, then run every tier with Node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s typecheck
npm run -s lint
node scripts/run-tests.mjs "${@:-all}"
