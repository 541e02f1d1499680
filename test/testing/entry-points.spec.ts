import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const lib = join(import.meta.dirname, '..', '..', 'lib');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

/** Every module an entry loads (its relative imports, followed), and the bare specifiers among them. */
function graph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const todo = [join(lib, entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.'))
        todo.push(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  }
  return { files, bare };
}

describe('entry points', () => {
  it('the main entry loads no module of nest-jwt-issuer/testing', () => {
    const { files } = graph('index.ts');
    expect(files.size).toBeGreaterThan(30);
    const testing = [...files]
      .map((f) => relative(lib, f))
      .filter((f) => f.startsWith('testing/'));
    expect(testing).toEqual([]);
  });

  it('nest-jwt-issuer/testing depends on no test framework', () => {
    const { files, bare } = graph('testing/index.ts');
    expect([...files].some((f) => f.endsWith('testing/test-issuer.ts'))).toBe(
      true,
    );
    for (const spec of bare) {
      expect(spec).not.toMatch(
        /^(vitest|jest|@jest\/|@nestjs\/testing|supertest|mocha|chai|@vitest\/)/,
      );
    }
  });
});
