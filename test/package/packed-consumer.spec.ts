import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';

// One tarball per run, packed by `npm pack` in a fresh checkout of the repository (the git-tracked and untracked,
// not ignored files: what a clone would hold, with the working tree's edits), so `prepack` must build it. Every
// consumer below installs that same tarball:
// - .pack-test/nest12: the root's node_modules (Nest 12, TypeScript 6) around it, as an ESM consumer.
// - .pack-test/nest11: a copy of fixtures/nest11, a Nest 11 CommonJS project whose dependencies (Nest 11, Jest,
//   ts-jest, TypeScript 5.9, for its hybrid-app test @nestjs/microservices 11, @nestjs/platform-fastify 11 and
//   nats 2, and for its health test @nestjs/terminus 11) the root's `npm ci` installed through a file:
//   devDependency: no network here.
const root = join(import.meta.dirname, '..', '..');
const fixtures = join(import.meta.dirname, 'fixtures');
const nest11Fixture = join(fixtures, 'nest11');
const work = join(root, '.pack-test');
const checkout = join(work, 'checkout');
const nest12 = join(work, 'nest12');
const nest11 = join(work, 'nest11');
const unpacked = join(nest12, 'node_modules', 'nest-jwt-issuer');

// Generous: a loaded 2-core machine can take a minute to build; a child that hangs is killed, not waited on forever.
const CHILD_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = CHILD_TIMEOUT_MS + 10_000;
const execFileAsync = promisify(execFile);
async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, {
      cwd,
      env: env && { ...process.env, ...env },
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const { stdout = '', stderr = '' } = e as {
      stdout?: string;
      stderr?: string;
    };
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`,
      { cause: e },
    );
  }
}
/** Runs an ES module script (`node -e`) in the Nest 11 project and returns what it wrote to stderr. */
const stderrOf = async (code: string): Promise<string> =>
  (
    await execFileAsync('node', ['--input-type=module', '-e', code], {
      cwd: nest11,
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS,
    })
  ).stderr;
const lastJsonLine = (out: string): Record<string, unknown> =>
  JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;

/** Copies the files a fresh clone would have (tracked, plus untracked and not ignored) into `dest`. */
async function copyCheckout(dest: string): Promise<void> {
  const listed = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    root,
  );
  for (const file of listed.split('\0')) {
    if (!file || !existsSync(join(root, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(join(root, file), join(dest, file));
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** A bin of a package as installed for the Nest 11 fixture (its own TypeScript 5.9, Jest 30). */
const nest11Bin = (pkg: string, bin: string) =>
  join(
    dirname(
      createRequire(join(nest11Fixture, 'package.json')).resolve(
        `${pkg}/package.json`,
      ),
    ),
    bin,
  );

/** The files of one build in the tarball, relative to its folder. */
const modulesOf = (dir: 'esm' | 'cjs') =>
  listing
    .filter((e) => e.startsWith(`package/dist/${dir}/`))
    .map((e) => e.slice(`package/dist/${dir}/`.length))
    .filter((e) => e !== 'package.json')
    .toSorted();

let tarball = '';
let listing: string[] = [];

beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(checkout, { recursive: true });
  await copyCheckout(checkout);
  expect(existsSync(join(checkout, 'dist'))).toBe(false);
  symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'));
  const packed = await run(
    'npm',
    ['pack', '--silent', '--pack-destination', work],
    checkout,
  );
  tarball = join(work, packed.trim().split('\n').pop()!);
  listing = (await run('tar', ['tzf', tarball], work)).trim().split('\n');

  // Nest 12 (ESM) consumer: the tarball in node_modules, everything else from the root's node_modules.
  // Its own package.json, or Node would resolve 'nest-jwt-issuer' to the repository itself (package self-reference).
  mkdirSync(unpacked, { recursive: true });
  writeFileSync(
    join(nest12, 'package.json'),
    JSON.stringify({ name: 'nest12-consumer', private: true, type: 'module' }),
  );
  await run(
    'tar',
    ['xzf', tarball, '-C', unpacked, '--strip-components=1'],
    work,
  );
  for (const file of ['scenario.cjs', 'consumer.mjs'])
    copyFileSync(join(fixtures, file), join(nest12, file));
  copyFileSync(
    join(fixtures, 'typed-consumer.ts'),
    join(nest12, 'typed-consumer.mts'),
  );
  for (const file of readdirSync(join(fixtures, 'nest12')))
    copyFileSync(join(fixtures, 'nest12', file), join(nest12, file));

  // Nest 11 (CommonJS) consumer: a copy of the fixture project; its node_modules link to the fixture's installed
  // packages (Nest 11 and what differs from the root's), the rest resolves from the root's node_modules.
  for (const file of filesUnder(nest11Fixture).filter(
    (f) => !f.startsWith('node_modules'),
  )) {
    mkdirSync(dirname(join(nest11, file)), { recursive: true });
    copyFileSync(join(nest11Fixture, file), join(nest11, file));
  }
  for (const file of ['scenario.cjs', 'consumer.mjs', 'consumer.cjs'])
    copyFileSync(join(fixtures, file), join(nest11, file));
  copyFileSync(
    join(fixtures, 'typed-consumer.ts'),
    join(nest11, 'typed-consumer.ts'),
  );
  copyFileSync(
    join(fixtures, 'typed-consumer.ts'),
    join(nest11, 'typed-consumer.mts'),
  );
  const modules = join(nest11, 'node_modules');
  mkdirSync(join(modules, 'nest-jwt-issuer'), { recursive: true });
  for (const name of readdirSync(join(nest11Fixture, 'node_modules'))) {
    if (name.startsWith('.')) continue;
    symlinkSync(join(nest11Fixture, 'node_modules', name), join(modules, name));
  }
  await run(
    'tar',
    [
      'xzf',
      tarball,
      '-C',
      join(modules, 'nest-jwt-issuer'),
      '--strip-components=1',
    ],
    work,
  );
}, 2 * CHILD_TIMEOUT_MS);

// KEEP_PACK_TEST=1 keeps .pack-test/ for a look at what failed.
afterAll(() => {
  if (!process.env.KEEP_PACK_TEST)
    rmSync(work, { recursive: true, force: true });
});

describe('npm pack in a fresh checkout', () => {
  it(
    'builds before packing and ships both builds, their declarations and maps, and the docs only',
    () => {
      // The name the README's install line uses.
      const { name, version } = JSON.parse(
        readFileSync(join(root, 'package.json'), 'utf8'),
      ) as { name: string; version: string };
      expect(tarball).toBe(join(work, `${name}-${version}.tgz`));
      for (const entry of listing)
        expect(entry).toMatch(
          /^package\/(dist\/(esm|cjs)\/|docs\/[\w.-]+\.md$|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/,
        );
      // The README's links lead to the topic pages, in the tarball too.
      expect(listing).toContain('package/docs/README.md');
      expect(listing).not.toContainEqual(
        expect.stringMatching(/^package\/docs\/api\//),
      );
      for (const file of [
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'dist/esm/index.js',
        'dist/esm/index.d.ts',
        'dist/esm/index.js.map',
        'dist/cjs/index.js',
        'dist/cjs/index.d.ts',
        'dist/cjs/index.js.map',
        'dist/cjs/package.json',
      ])
        expect(listing).toContain(`package/${file}`);
      // One source, two builds: the same modules on both sides.
      expect(modulesOf('cjs')).toEqual(modulesOf('esm'));
      expect(modulesOf('esm').length).toBeGreaterThan(30);
      expect(
        JSON.parse(
          readFileSync(join(unpacked, 'dist/cjs/package.json'), 'utf8'),
        ),
      ).toEqual({ type: 'commonjs' });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'ships source maps that resolve: every module names its map, and every map carries its sources',
    () => {
      const jsFiles = filesUnder(join(unpacked, 'dist')).filter((f) =>
        f.endsWith('.js'),
      );
      for (const file of jsFiles) {
        const js = readFileSync(join(unpacked, 'dist', file), 'utf8');
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js)?.[1];
        expect(url, file).toBe(`${file.split('/').pop()}.map`);
        const map = JSON.parse(
          readFileSync(join(unpacked, 'dist', dirname(file), url!), 'utf8'),
        ) as { sources: string[]; sourcesContent?: (string | null)[] };
        expect(map.sources.length, file).toBeGreaterThan(0);
        expect(map.sourcesContent?.length, file).toBe(map.sources.length);
        for (const content of map.sourcesContent!)
          expect(content?.length, file).toBeGreaterThan(0);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('an ES module consumer (Nest 12)', () => {
  it(
    'imports the ESM build and runs every capability and the guard over real HTTP',
    async () => {
      expect(lastJsonLine(await run('node', ['consumer.mjs'], nest12))).toEqual(
        expectedScenario('esm'),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'type-checks against Nest 12 with skipLibCheck false (TypeScript 6, nodenext)',
    async () => {
      writeFileSync(
        join(nest12, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'ES2023',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            types: ['node'],
          },
          files: ['typed-consumer.mts'],
        }),
      );
      // Throws (and fails the test) with tsc's diagnostics if the declarations do not compile.
      await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', '.'], nest12);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('nest-jwt-issuer/testing in the consumers', () => {
  it(
    'a Nest 12 ES module project passes its Vitest e2e tests of a guarded route and NATS handler written with it',
    async () => {
      let nats: RunningNatsServer | undefined;
      try {
        nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
        const out = await run(
          join(root, 'node_modules', '.bin', 'vitest'),
          ['run', '--config', 'vitest.config.mts', '--reporter=json'],
          nest12,
          { NATS_URL: nats.url },
        );
        const report = JSON.parse(out.slice(out.indexOf('{'))) as {
          success: boolean;
          numPassedTests: number;
          numFailedTests: number;
        };
        expect(report).toMatchObject({
          success: true,
          numPassedTests: 18,
          numFailedTests: 0,
        });
      } finally {
        await nats?.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is not loaded by the main entry: requiring it loads no testing module, and the ESM build imports none',
    async () => {
      const loaded = JSON.parse(
        await run(
          'node',
          [
            '-e',
            `require('nest-jwt-issuer'); console.log(JSON.stringify(Object.keys(require.cache)))`,
          ],
          nest11,
        ),
      ) as string[];
      const ours = loaded.filter((f) => f.includes('nest-jwt-issuer/dist/'));
      expect(ours.length).toBeGreaterThan(30);
      expect(ours.filter((f) => f.includes('/testing/'))).toEqual([]);
      // The ES build's import graph from index.js, file by file.
      const seen = new Set<string>();
      const todo = [join(unpacked, 'dist/esm/index.js')];
      for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
        if (seen.has(f)) continue;
        seen.add(f);
        for (const m of readFileSync(f, 'utf8').matchAll(
          /(?:from|import)\s*['"](\.[^'"]+)['"]/g,
        ))
          todo.push(join(dirname(f), m[1]));
      }
      expect(seen.size).toBe(ours.length);
      expect([...seen].filter((f) => f.includes('/testing/'))).toEqual([]);
      expect(listing).toContain('package/dist/esm/testing/index.js');
      expect(listing).toContain('package/dist/cjs/testing/index.d.ts');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a Nest 11 CommonJS project', () => {
  it(
    'requires the CommonJS build with require(esm) disabled, and runs every capability and the guard',
    async () => {
      const out = await run(
        'node',
        ['--no-experimental-require-module', 'consumer.cjs'],
        nest11,
      );
      expect(lastJsonLine(out)).toEqual(expectedScenario('cjs'));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'can also import the ESM build on Nest 11',
    async () => {
      expect(lastJsonLine(await run('node', ['consumer.mjs'], nest11))).toEqual(
        expectedScenario('esm'),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'type-checks against Nest 11 with skipLibCheck false (TypeScript 5.9; nodenext CommonJS and ESM, and node10)',
    async () => {
      const tsc = nest11Bin('typescript', 'bin/tsc');
      await Promise.all([
        run('node', [tsc, '-p', 'tsconfig.json'], nest11),
        run('node', [tsc, '-p', 'tsconfig.node10.json'], nest11),
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'warns once when both builds load in one process (the dual-package hazard), and not otherwise',
    async () => {
      const both = await stderrOf(`import { createRequire } from 'node:module';
createRequire(import.meta.url)('nest-jwt-issuer');
await import('nest-jwt-issuer');
createRequire(import.meta.url)('nest-jwt-issuer');`);
      expect(both.match(/NEST_JWT_ISSUER_DUAL_PACKAGE/g)).toHaveLength(1);
      expect(both).toContain('loaded twice, as an ES module and as CommonJS');
      const one = await stderrOf(`await import('nest-jwt-issuer');
await import('nest-jwt-issuer');`);
      expect(one).not.toContain('NEST_JWT_ISSUER_DUAL_PACKAGE');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'passes its Jest (ts-jest) e2e tests: the guard over Express, a hybrid app (Express or Fastify + NATS through a real nats-server), a guarded route and NATS handler tested with nest-jwt-issuer/testing, and the health indicator under terminus 11',
    async () => {
      // The NATS transport needs a server: started here (127.0.0.1, a free port), its URL given to Jest.
      let nats: RunningNatsServer | undefined;
      try {
        nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
        const out = await run(
          'node',
          [
            nest11Bin('jest', 'bin/jest.js'),
            '--config',
            'test/jest-e2e.json',
            '--ci',
            '--runInBand',
            '--cacheDirectory',
            join(work, 'jest-cache'),
            '--json',
          ],
          nest11,
          { NATS_URL: nats.url },
        );
        const report = JSON.parse(out) as {
          success: boolean;
          numPassedTests: number;
          numFailedTests: number;
        };
        expect(report).toMatchObject({
          success: true,
          numPassedTests: 34,
          numFailedTests: 0,
        });
      } finally {
        await nats?.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

/**
 * Links the package's bins into `project/node_modules/.bin` as npm does on install (a symlink to the bin file, made
 * executable: the tarball, like every npm tarball, stores it as a plain file).
 */
function linkBins(project: string): void {
  const pkg = join(project, 'node_modules', 'nest-jwt-issuer');
  const { bin } = JSON.parse(
    readFileSync(join(pkg, 'package.json'), 'utf8'),
  ) as {
    bin: Record<string, string>;
  };
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  for (const [name, file] of Object.entries(bin)) {
    chmodSync(join(pkg, file), 0o755);
    const link = join(project, 'node_modules', '.bin', name);
    rmSync(link, { force: true });
    symlinkSync(join('..', 'nest-jwt-issuer', file), link);
  }
}

describe('the nest-jwt-issuer bin, run with npx in each consumer', () => {
  it.each([
    ['an ES module project (Nest 12)', () => nest12],
    ['a CommonJS project (Nest 11)', () => nest11],
  ])(
    '%s: npx nest-jwt-issuer makes a key, mints a token, inspects it and checks the environment; the CommonJS build runs too',
    async (_name, project) => {
      const cwd = project();
      linkBins(cwd);
      const npx = (...args: string[]) =>
        run('npx', ['--no-install', 'nest-jwt-issuer', ...args], cwd);
      rmSync(join(cwd, 'cli-key.pem'), { force: true });
      await npx('keys', 'service', '--out', 'cli-key.pem');
      const token = (
        await npx(
          'token',
          'service',
          '--key',
          'cli-key.pem',
          '--iss',
          'https://orders.internal',
          '--sub',
          'orders',
        )
      ).trim();
      const inspected = JSON.parse(await npx('inspect', token, '--json')) as {
        kind: string;
      };
      expect(inspected.kind).toBe('service token');
      expect(await npx('check')).toContain('No problems.');
      const version = JSON.parse(
        readFileSync(
          join(cwd, 'node_modules', 'nest-jwt-issuer', 'package.json'),
          'utf8',
        ),
      ) as { version: string };
      expect(
        (
          await run(
            'node',
            [
              join(
                'node_modules',
                'nest-jwt-issuer',
                'dist',
                'cjs',
                'cli',
                'main.js',
              ),
              '--version',
            ],
            cwd,
          )
        ).trim(),
      ).toBe(version.version);
    },
    TEST_TIMEOUT_MS,
  );
});

function expectedScenario(build: 'esm' | 'cjs'): Record<string, unknown> {
  return {
    entry: expect.stringMatching(
      new RegExp(`node_modules/nest-jwt-issuer/dist/${build}/index\\.js$`),
    ),
    guardedWithToken: 200,
    caller: 'm1',
    guardedWithout: 401,
    jwks: 200,
    refusedArgument: 400,
    refusedArgumentCode: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
    nats: 3,
    seald: 3,
    vonage: 3,
    libraryError: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
  };
}
