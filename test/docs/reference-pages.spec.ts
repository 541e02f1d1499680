import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  renderReferencePages,
  repositoryRoot,
} from '../../scripts/docs-reference.js';

describe('the generated reference pages (npm run docs:reference)', () => {
  const root = repositoryRoot();
  it.each(renderReferencePages(root).map((p) => [p.file, p] as const))(
    '%s is current: run `npm run docs:reference` after changing an option, its TSDoc or an error code',
    (_file, page) => {
      expect(readFileSync(join(root, page.file), 'utf8')).toBe(page.text);
    },
  );
});
