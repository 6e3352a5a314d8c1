#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in lib/ (built by `npm run build`, or `prepare` on install).
import { main } from '../lib/cli/main.js';

await main();
