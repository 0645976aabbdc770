#!/usr/bin/env node
// The kumo command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('kumo: dist/ is missing; run `npm install` (or `npm run build`) in the kumo checkout first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
