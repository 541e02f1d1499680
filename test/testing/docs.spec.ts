import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BAD_TOKEN_KINDS } from '../../lib/testing/index.js';

const root = join(import.meta.dirname, '..', '..');
const page = readFileSync(join(root, 'docs', 'testing.md'), 'utf8');
const fixtures = join(root, 'test', 'package', 'fixtures');

describe('docs/testing.md', () => {
  it.each([
    'nest11/test/testing.e2e-spec.ts',
    'nest11/test/jest-e2e.json',
    'nest12/testing.e2e-spec.ts',
    'nest12/vitest.config.mts',
  ])('shows %s exactly as the packed-tarball consumer runs it', (file) => {
    const text = readFileSync(join(fixtures, file), 'utf8');
    expect(page).toContain(`\n${text}\`\`\`\n`);
  });

  it('lists every bad token kind', () => {
    for (const kind of BAD_TOKEN_KINDS)
      expect(page).toContain(`| \`${kind}\` |`);
  });
});
