import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  type: string;
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
  it('is ESM-only with a types/import/default root export and ships dist only', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      import: './dist/index.js',
      default: './dist/index.js',
    });
    expect(pkg.exports['./package.json']).toBe('./package.json');
    expect(pkg.files).toEqual(['dist']);
    expect(pkg.engines.node).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
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
    // Runtime dependencies: nkeys, and lru-cache for the verified-token cache. Signing and verification are
    // node:crypto; jose is only a test oracle.
    expect(Object.keys(pkg.dependencies)).toEqual([
      '@nats-io/nkeys',
      'lru-cache',
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
