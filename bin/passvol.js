#!/usr/bin/env node
// Entry point of the built command (npm run build writes dist/).
await import('../dist/cli/main.js');
