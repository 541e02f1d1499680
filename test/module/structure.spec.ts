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
