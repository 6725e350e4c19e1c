#!/usr/bin/env node
// The `openpds` CLI. Sources are TypeScript; tsx compiles them on load so `npm start` needs no build step.
require('tsx/cjs');
require('../cli/main.ts');
