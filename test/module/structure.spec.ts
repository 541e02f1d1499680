import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JWT_ISSUER_CAPABILITIES } from '../../lib/jwt-issuer.capabilities.js';
import { JWT_ISSUER_ENV_VARS } from '../../lib/index.js';

const lib = resolve(dirname(fileURLToPath(import.meta.url)), '../../lib');

/** Folders of lib/ that hold a capability (they have a `*.capability.ts` descriptor). */
const capabilityFolders = readdirSync(lib, { withFileTypes: true })
  .filter(
    (d) =>
      d.isDirectory() &&
      readdirSync(join(lib, d.name)).some((f) => f.endsWith('.capability.ts')),
  )
  .map((d) => d.name);

/** Relative imports of every `.ts` file under `folder`, resolved to paths relative to lib/. */
function importsUnder(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  for (const entry of readdirSync(join(lib, folder), { recursive: true })) {
    const file = join(lib, folder, String(entry));
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
      out.push({
        file: relative(lib, file),
        target: relative(lib, resolve(dirname(file), m[1])),
      });
    }
  }
  return out;
}

/** Relative imports of the `.ts` files directly in lib/ (the module, the barrel). */
function rootImports(): { file: string; target: string }[] {
  return readdirSync(lib)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(lib, f), 'utf8').matchAll(/from '(\.[^']+)'/g)].map(
        (m) => ({ file: f, target: relative(lib, resolve(lib, m[1])) }),
      ),
    );
}

/** The capability or layer a file of lib/ belongs to: its top folder, or `module` for the files directly in lib/. */
function owner(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : 'module';
}

describe('structure: each capability describes itself; the shared layers know none', () => {
  it('finds the four capability folders', () => {
    expect(capabilityFolders.toSorted()).toEqual([
      'nats',
      'seald',
      'service-token',
      'vonage',
    ]);
    expect(JWT_ISSUER_CAPABILITIES).toHaveLength(capabilityFolders.length);
  });

  it.each(['config', 'common', 'health'])(
    'lib/%s imports no capability',
    (folder) => {
      const leaks = importsUnder(folder).filter(({ target }) =>
        capabilityFolders.some((c) => target.startsWith(`${c}/`)),
      );
      expect(leaks).toEqual([]);
    },
  );

  it('lib/common holds only what two or more capabilities or layers use (the CLI and the test kit not counted)', () => {
    const imports = readdirSync(lib, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => importsUnder(d.name))
      .concat(rootImports());
    const users = (target: string, seen = new Set<string>()): Set<string> => {
      const out = new Set<string>();
      if (seen.has(target)) return out;
      seen.add(target);
      for (const { file, target: t } of imports) {
        if (t !== target.replace(/\.ts$/, '.js')) continue;
        if (file.startsWith('common/')) {
          for (const u of users(file, seen)) out.add(u);
        } else if (!['cli', 'testing'].includes(owner(file))) {
          out.add(owner(file));
        }
      }
      return out;
    };
    const lonely = readdirSync(join(lib, 'common'))
      .map((f) => `common/${f}`)
      .filter((f) => users(f).size < 2);
    expect(lonely).toEqual([]);
  });

  it("service tokens: issuing/, verifying/ and outgoing/ each have an index; the barrel and the test kit import service tokens through the capability's index", () => {
    for (const role of ['issuing', 'verifying', 'outgoing']) {
      expect(readdirSync(join(lib, 'service-token', role)), role).toContain(
        'index.ts',
      );
    }
    const reachingIn = [
      ...importsUnder('testing'),
      ...rootImports().filter(({ file }) => file === 'index.ts'),
    ].filter(
      ({ target }) =>
        target.startsWith('service-token/') &&
        target !== 'service-token/index.js',
    );
    expect(reachingIn).toEqual([]);
  });

  it('every capability contributes its own part of the health report through its descriptor', () => {
    for (const c of JWT_ISSUER_CAPABILITIES) {
      expect(c.health, c.section).toBeDefined();
      expect(typeof c.health!.report, c.section).toBe('function');
    }
  });

  it("every capability's variables feed its own section, and the module lists them all", () => {
    for (const c of JWT_ISSUER_CAPABILITIES) {
      expect(c.envVars.length).toBeGreaterThan(0);
      for (const v of c.envVars)
        expect(v.path.startsWith(`${c.section}.`), v.env).toBe(true);
    }
    expect(JWT_ISSUER_ENV_VARS).toEqual(
      JWT_ISSUER_CAPABILITIES.flatMap((c) => c.envVars),
    );
  });
});

/**
 * Every `.ts` file of lib/ (relative to lib/) with the files it imports: `import`, `import type`, `export … from`,
 * side-effect and dynamic imports alike, since a type-only cycle is still a cycle to a reader.
 */
function libGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(lib, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(lib, file), 'utf8');
    const targets = [
      ...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*'(\.[^']+)'/g),
    ].map((m) =>
      relative(lib, resolve(dirname(join(lib, file)), m[1])).replace(
        /\.js$/,
        '.ts',
      ),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The import cycles of `graph`: its strongly connected components of more than one file (Tarjan), each sorted. */
function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v))
      cycles.push(component.toSorted());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/**
 * The one cycle still open (issue 24): websocket.ts takes the `ServiceTokenRequest` type from service-call.ts,
 * which calls `socketRequestOf`. It goes when that type moves to an interfaces file; remove it from here then.
 */
const KNOWN_CYCLES = [
  [
    'service-token/verifying/transports/service-call.ts',
    'service-token/verifying/transports/websocket.ts',
  ],
];

/** The files directly in lib/ that compose the capabilities: the module, its definition, the capability list. */
const composing =
  /^jwt-issuer\.(module|module-definition|capabilities)\.(ts|js)$/;

describe('structure: the layers', () => {
  const graph = libGraph();
  const edges = [...graph].flatMap(([file, targets]) =>
    targets.map((target) => ({ file, target })),
  );

  it('lib/ has no import cycle, type-only imports and re-exports included', () => {
    expect(importCycles(graph)).toEqual(KNOWN_CYCLES);
  });

  it.each(['config', 'common'])(
    'lib/%s imports no capability and not the module',
    (folder) => {
      const leaks = edges.filter(
        ({ file, target }) =>
          owner(file) === folder &&
          (capabilityFolders.includes(owner(target)) || composing.test(target)),
      );
      expect(leaks).toEqual([]);
    },
  );

  it('a capability imports neither the module that composes it nor another capability', () => {
    const leaks = edges.filter(
      ({ file, target }) =>
        capabilityFolders.includes(owner(file)) &&
        (composing.test(target) ||
          (capabilityFolders.includes(owner(target)) &&
            owner(target) !== owner(file))),
    );
    expect(leaks).toEqual([]);
  });

  it.each(['cli', 'testing'])(
    'nothing in lib/ outside lib/%s imports it',
    (folder) => {
      const leaks = edges.filter(
        ({ file, target }) =>
          owner(target) === folder && owner(file) !== folder,
      );
      expect(leaks).toEqual([]);
    },
  );
});
