#!/usr/bin/env node
// Entry point of the built command (npm run build writes dist/).
import '../dist/cli/main.js';
