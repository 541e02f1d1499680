import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  documentationPages,
  pageAnchors,
  relativeLinks,
  repositoryRoot,
} from '../support/markdown.js';

// Pages other branches of this session write (the CLI and the sample, testing, operations, the auth callout, OAuth
// 2 / OIDC, WebSockets): linked already, so that the index stays the one list of pages. Once they are merged, this
// list must be empty (the test below says so when a listed page exists).
const PENDING_PAGES = new Set<string>([]);

const index = readFileSync(join(repositoryRoot, 'docs/README.md'), 'utf8');

describe('the documentation pages find each other', () => {
  it('docs/README.md lists every page in docs/', () => {
    for (const page of documentationPages().filter((p) =>
      p.startsWith('docs/'),
    ))
      if (page !== 'docs/README.md')
        expect(index, page).toContain(`](${page.slice('docs/'.length)})`);
  });

  it('a pending page is only pending while it does not exist', () => {
    for (const page of PENDING_PAGES)
      expect(
        existsSync(join(repositoryRoot, page)),
        `${page} exists: remove it from PENDING_PAGES`,
      ).toBe(false);
  });

  it.each(documentationPages())(
    'every relative link of %s leads to a file, and a #anchor to a heading of it',
    (page) => {
      const broken: string[] = [];
      for (const { target, line } of relativeLinks(page)) {
        const [path, anchor] = target.split('#');
        const file = path ? normalize(join(dirname(page), path)) : page;
        if (PENDING_PAGES.has(file)) continue;
        if (!existsSync(join(repositoryRoot, file))) {
          broken.push(`${page}:${line}: ${target} (no such file)`);
          continue;
        }
        if (anchor && file.endsWith('.md') && !pageAnchors(file).has(anchor))
          broken.push(`${page}:${line}: ${target} (no such heading)`);
      }
      expect(broken).toEqual([]);
    },
  );
});
