import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNatsDevelopmentAccount } from '../../lib/index.js';
import { freePort } from '../support/broker-process.js';
import {
  codeBlocks,
  documentationPages,
  repositoryRoot,
  shellCommands,
} from '../support/markdown.js';
import {
  buildSample,
  type SampleProcess,
  startSample,
  waitForOutput,
} from '../support/sample-process.js';

// Every command the docs show, run as shown where it can be (this file), or by the spec named in
// docs/development.md ("What the docs tests run"). What cannot run here is listed there too.

const execFileAsync = promisify(execFile);
const pkg = JSON.parse(
  readFileSync(join(repositoryRoot, 'package.json'), 'utf8'),
) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
const allBlocks = documentationPages().flatMap((page) => codeBlocks(page));

describe('the curl lines of the docs, against `npm start`', () => {
  // Lines with a shell variable ($TOKEN: a service token minted with the CLI) belong to the sample path that
  // test/sample (the CLI's branch) runs end to end.
  const curls = allBlocks
    .filter((b) => b.lang === 'bash')
    .flatMap((b) =>
      shellCommands(b.code)
        .filter((c) => c.startsWith('curl '))
        .map((command) => ({ page: b.page, command })),
    );
  const runnable = curls.filter((c) => !c.command.includes('$'));

  let sample: ReturnType<typeof buildSample>;
  let running: SampleProcess;
  let cwd: string;
  let port: number;
  let cliBin: string;

  beforeAll(async () => {
    sample = buildSample('docs-commands');
    cwd = mkdtempSync(join(tmpdir(), 'docs-commands-'));
    port = await freePort();
    running = startSample(sample.dir, cwd, {
      PORT: String(port),
      SAMPLE_DEV_DIR: join(cwd, 'dev'),
    });
    cliBin = join(cwd, 'bin');
    mkdirSync(cliBin);
    writeFileSync(
      join(cliBin, 'nest-jwt-issuer'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(sample.dir, 'lib/cli/main.js')}" "$@"\n`,
      { mode: 0o755 },
    );
    await waitForOutput(running, /Listening on http/);
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    sample?.remove();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('finds the curl lines (the seald, vonage and service-token samples at least)', () => {
    expect(runnable.map((c) => c.page)).toEqual(
      expect.arrayContaining([
        'docs/seald.md',
        'docs/vonage.md',
        'docs/service-tokens.md',
      ]),
    );
    expect(runnable.length).toBeGreaterThanOrEqual(8);
  });

  it('each runs as written (on this test\u2019s port) and answers what its comment says', async () => {
    for (const { page, command } of runnable) {
      const [shell, comment = ''] = command.split(/ {2,}# /);
      const { stdout } = await execFileAsync(
        'bash',
        [
          '-c',
          shell
            .replaceAll('localhost:3000', `127.0.0.1:${port}`)
            // In the repository the CLI runs through `npm run -s cli --` (the `npm start` build): the same CLI.
            .replaceAll('npm run -s cli --', 'nest-jwt-issuer'),
        ],
        // `nest-jwt-issuer` on PATH, as `npx` puts it in a consumer: the CLI of this build of the sample.
        {
          timeout: 10_000,
          env: { ...process.env, PATH: `${cliBin}:${process.env.PATH}` },
        },
      );
      const where = `${page}: ${shell}`;
      expect(stdout.length, where).toBeGreaterThan(0);
      const status = /\b([1-5]\d\d)\b/.exec(
        comment.split(':')[0] + ' ' + comment,
      )?.[1];
      if (shell.includes(' -si ') || shell.includes(' -i ')) {
        expect(stdout.split('\r\n')[0], where).toMatch(
          new RegExp(`^HTTP/1\\.1 ${status ?? '2\\d\\d'} `),
        );
        for (const [, header] of comment.matchAll(/(WWW-Authenticate: [^+]+)/g))
          expect(stdout.toLowerCase(), where).toContain(
            header.trim().toLowerCase(),
          );
      } else if (
        /\| *(nest-jwt-issuer|npm run -s cli --) (?!.*--json)/.test(shell)
      ) {
        // Piped into the CLI for a person to read: it exited 0 (execFile throws otherwise) and named the token's kind.
        expect(stdout, where).toMatch(/^kind: /m);
      } else {
        // A JSON answer, not an error body.
        const body = JSON.parse(stdout) as { statusCode?: number };
        expect(body.statusCode ?? 200, where).toBeLessThan(400);
        // A comment that shows the answer shows its beginning, up to the first `…`.
        const shown = /(\{".*)$/.exec(comment)?.[1];
        if (shown)
          expect(stdout, where).toContain(
            shown.split('…')[0].replaceAll('3000', String(port)),
          );
      }
    }
  }, 60_000);
});

describe('the README quick start', () => {
  const envBlock = codeBlocks('README.md').find(
    (b) => b.lang === 'bash' && b.code.includes('JWT_ISSUER_NATS_ACCOUNT_ID'),
  )!;
  const moduleBlock = codeBlocks('README.md').find(
    (b) => b.lang === 'ts' && b.code.includes('export class AppModule'),
  )!;
  const dir = mkdtempSync(join(tmpdir(), 'readme-quick-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The .env lines of the README, with the placeholders (`A…`, `SA…`, a secrets path) given real values. */
  function quickStartEnv(): Record<string, string> {
    const dev = createNatsDevelopmentAccount();
    const keyFile = join(dir, 'orders-service.pem');
    writeFileSync(
      keyFile,
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      { mode: 0o600 },
    );
    const real: Record<string, string> = {
      'A…': dev.account.publicKey,
      'SA…': dev.signingKey.seed,
      '/run/secrets/orders-service.pem': keyFile,
    };
    const env: Record<string, string> = {};
    for (const command of shellCommands(envBlock.code)) {
      const [, name, raw] = /^(\w+)=(\S+)/.exec(command)!;
      const value = raw.replace(/^'(.*)'$/, '$1');
      env[name] = real[value] ?? value;
    }
    return env;
  }

  it('the .env block and the AppModule block start an app with NATS and service tokens on', async () => {
    const env = quickStartEnv();
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'JWT_ISSUER_NATS_ACCOUNT_ID',
        'JWT_ISSUER_SERVICE_PRIVATE_KEY',
        'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS',
      ]),
    );
    // The block as written, importing the library from this repository.
    const file = join(
      repositoryRoot,
      'test/docs',
      `.quick-start-${process.pid}.ts`,
    );
    writeFileSync(
      file,
      moduleBlock.code.replace(
        "from 'nest-jwt-issuer'",
        `from ${JSON.stringify(join(repositoryRoot, 'lib/index.js'))}`,
      ),
    );
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const { AppModule } = (await import(file)) as { AppModule: never };
      const logs: string[] = [];
      const app = await NestFactory.create(AppModule, {
        logger: {
          log: (m: unknown) => logs.push(String(m)),
          warn: (m: unknown) => logs.push(String(m)),
          error: (m: unknown) => logs.push(String(m)),
        },
      });
      await app.listen(0, '127.0.0.1');
      try {
        expect(logs).toContainEqual(
          expect.stringMatching(/^Capabilities: nats on, service on\b/),
        );
        const jwks = (await (
          await fetch(`${await app.getUrl()}/.well-known/jwks.json`)
        ).json()) as { keys: unknown[] };
        expect(jwks.keys.length).toBeGreaterThan(0);
      } finally {
        await app.close();
      }
    } finally {
      vi.unstubAllEnvs();
      rmSync(file, { force: true });
    }
  }, 60_000);

  it('without the variables it does not start, and says what to set (require: nats, service)', async () => {
    const file = join(
      repositoryRoot,
      'test/docs',
      `.quick-start-bare-${process.pid}.ts`,
    );
    writeFileSync(
      file,
      moduleBlock.code.replace(
        "from 'nest-jwt-issuer'",
        `from ${JSON.stringify(join(repositoryRoot, 'lib/index.js'))}`,
      ),
    );
    try {
      const { AppModule } = (await import(file)) as { AppModule: never };
      const error = await NestFactory.create(AppModule, {
        logger: false,
        abortOnError: false,
      }).catch((e: unknown) => e as Error);
      expect(String((error as Error).message)).toMatch(
        /nats\.accountId \(JWT_ISSUER_NATS_ACCOUNT_ID\)[\s\S]*service\.name \(JWT_ISSUER_SERVICE_NAME\)/,
      );
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('the README install lines', () => {
  const commands = codeBlocks('README.md')
    .filter((b) => b.lang === 'bash')
    .flatMap((b) => shellCommands(b.code));
  const tarball = `${pkg.name}-${pkg.version}.tgz`;

  it(`name the tarball npm pack writes for this version (${tarball})`, () => {
    expect(commands).toContainEqual(
      expect.stringMatching(/^npm ci && npm pack\b/),
    );
    const install = commands.find((c) => c.startsWith('npm install /'))!;
    expect(install).toContain(`/${tarball}`);
    // test/package/packed-consumer.spec.ts checks that npm pack writes exactly this file.
  });

  it('install every peer an app needs (the optional ones are named beside), and an HTTP platform', () => {
    const install = commands.find((c) => c.startsWith('npm install /'))!;
    const named = install.split(/\s+/).slice(3);
    for (const [peer] of Object.entries(pkg.peerDependencies))
      if (!pkg.peerDependenciesMeta[peer]?.optional)
        expect(named, peer).toContain(peer);
      else expect(readme, peer).toContain(`\`${peer}\``);
    expect(named).toContain('@nestjs/platform-express');
  });

  it('one version: package.json, the CHANGELOG and the compatibility table agree', () => {
    const changelog = readFileSync(
      join(repositoryRoot, 'CHANGELOG.md'),
      'utf8',
    );
    expect(/^## \[[^\]]+\] \(([\d.]+)\)/m.exec(changelog)?.[1]).toBe(
      pkg.version,
    );
    const compatibility = readFileSync(
      join(repositoryRoot, 'docs/compatibility.md'),
      'utf8',
    );
    const minor = pkg.version.split('.').slice(0, 2).join('.');
    expect(/^\| ([\d.]+) \|/m.exec(compatibility)?.[1]).toBe(minor);
  });
});

describe('npm run docs', () => {
  it('TypeDoc writes the API reference from the TSDoc, without errors', async () => {
    const out = mkdtempSync(join(tmpdir(), 'api-reference-'));
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          join(repositoryRoot, 'node_modules/typedoc/bin/typedoc'),
          '--out',
          out,
        ],
        {
          cwd: repositoryRoot,
          timeout: 120_000,
          env: { ...process.env, NO_COLOR: '1' },
        },
      );
      expect(stdout).toContain('html generated'); // a TypeDoc error would have made it exit non-zero
      expect(
        readFileSync(join(out, 'classes/JwtIssuerModule.html'), 'utf8'),
      ).toContain('forRootAsync');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 130_000);
});
