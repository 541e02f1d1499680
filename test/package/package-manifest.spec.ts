import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  type: string;
  main: string;
  types: string;
  license: string;
  keywords: string[];
  scripts: Record<string, string>;
  typesVersions: Record<string, Record<string, string[]>>;
  exports: Record<string, unknown>;
  files: string[];
  engines: { node: string };
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('package manifest', () => {
  it('is ESM with a CommonJS build beside it: import and require conditions, each with its own types', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.']).toEqual({
      import: {
        types: './dist/esm/index.d.ts',
        default: './dist/esm/index.js',
      },
      require: {
        types: './dist/cjs/index.d.ts',
        default: './dist/cjs/index.js',
      },
      default: './dist/esm/index.js',
    });
    // The testing helpers: their own entry point, with both builds and their types.
    expect(pkg.exports['./testing']).toEqual({
      import: {
        types: './dist/esm/testing/index.d.ts',
        default: './dist/esm/testing/index.js',
      },
      require: {
        types: './dist/cjs/testing/index.d.ts',
        default: './dist/cjs/testing/index.js',
      },
      default: './dist/esm/testing/index.js',
    });
    expect(pkg.exports['./package.json']).toBe('./package.json');
    // Resolvers that ignore `exports` (TypeScript's node10, used by `module: commonjs` projects) read these.
    expect(pkg.main).toBe('./dist/cjs/index.js');
    expect(pkg.types).toBe('./dist/cjs/index.d.ts');
    // …and, for the testing entry point, this mapping.
    expect(pkg.typesVersions).toEqual({
      '*': { testing: ['./dist/cjs/testing/index.d.ts'] },
    });
    // docs/*.md: the README's links resolve inside node_modules too.
    expect(pkg.files).toEqual(['dist', 'docs/*.md', 'CHANGELOG.md']);
    expect(pkg.engines.node).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
  });

  it('builds before it is packed, and has a licence, a changelog and keywords', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.scripts.build).toContain('tsconfig.build.cjs.json');
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toMatch(
      /## \[0\.1\.0\]/,
    );
    expect(pkg.keywords).toEqual(
      expect.arrayContaining(['nestjs', 'jwt', 'nats']),
    );
  });

  it('declares every bare import of lib/ as a dependency or peer, and nothing else at runtime', () => {
    const declared = new Set([
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.peerDependencies),
    ]);
    const used = new Set<string>();
    const importRe =
      /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (const file of sourceFiles(join(root, 'lib'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        if (builtinModules.includes(spec)) continue;
        used.add(packageName(spec));
      }
    }
    for (const name of used)
      expect(declared, `${name} is imported by lib/`).toContain(name);
    // Runtime dependencies: nkeys, lru-cache for the verified-token cache, and tweetnacl (already nkeys' own
    // dependency) for the auth callout's XSalsa20-Poly1305 box, which node:crypto lacks. Signing and verification are
    // node:crypto; jose is only a test oracle.
    expect(Object.keys(pkg.dependencies)).toEqual([
      '@nats-io/nkeys',
      'lru-cache',
      'tweetnacl',
    ]);
  });

  it('relative imports in lib/ end in .js (ESM resolution)', () => {
    const bad: string[] = [];
    for (const file of sourceFiles(join(root, 'lib'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from\s+['"](\.[^'"]+)['"]/g)) {
        if (!m[1].endsWith('.js')) bad.push(`${file}: ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
