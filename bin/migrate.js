#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli.ts by `npm run build`.
import '../dist/src/cli.js';
