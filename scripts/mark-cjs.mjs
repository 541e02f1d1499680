// Marks a build folder as CommonJS: Node and TypeScript then read its .js and .d.ts files as CommonJS, although the
// package itself is `"type": "module"`. Usage: node scripts/mark-cjs.mjs dist/cjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node scripts/mark-cjs.mjs <folder>');
writeFileSync(
  join(dir, 'package.json'),
  `${JSON.stringify({ type: 'commonjs' })}\n`,
);
