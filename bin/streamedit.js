#!/usr/bin/env node
'use strict';
// The embedded CLI. Runs the compiled build; `npm run build` (or scripts/setup.sh) produces it.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const main = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('streamedit is not built yet: run `bash scripts/setup.sh` (or `npm run build`) first.\n');
  process.exit(1);
}
require(main);
