import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The packed tarball is unpacked under the project root so that its peers resolve from the project's node_modules,
// exactly as they would from a consumer's.
const root = join(import.meta.dirname, '..', '..');
const work = join(root, '.pack-test');
const run = (cmd: string, args: string[], cwd = root) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: 'pipe' });

describe('the packed package, seen from a plain ESM consumer', () => {
  let tarball = '';

  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'node_modules', 'nest-jwt-issuer'), {
      recursive: true,
    });
    run('npm', ['run', 'build']);
    tarball = join(
      work,
      run('npm', ['pack', '--silent', '--pack-destination', work])
        .trim()
        .split('\n')
        .pop()!,
    );
    run('tar', [
      'xzf',
      tarball,
      '-C',
      join(work, 'node_modules', 'nest-jwt-issuer'),
      '--strip-components=1',
    ]);
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships only dist/, package.json, README and licence files', () => {
    const listing = run('tar', ['tzf', tarball]);
    for (const entry of listing.trim().split('\n')) {
      expect(entry).toMatch(
        /^package\/(dist\/|package\.json$|README\.md$|LICEN[CS]E)/,
      );
    }
  });

  it('imports from the root export and boots the module in a Nest application context', () => {
    writeFileSync(
      join(work, 'consumer.mjs'),
      `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtIssuerModule, JwtIssuerError, JwtIssuerErrorCode, jwtIssuerConfig } from 'nest-jwt-issuer';
class AppModule {}
Module({ imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })] })(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
await app.close();
const e = new JwtIssuerError(JwtIssuerErrorCode.INVALID_ARGUMENT, 'x');
console.log(JSON.stringify({ ok: e instanceof Error, code: e.code, ns: typeof jwtIssuerConfig.KEY }));
`,
    );
    const out = run('node', ['consumer.mjs'], work);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      ok: true,
      code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      ns: 'string',
    });
  });

  it('resolves its types for a TypeScript consumer (nodenext)', () => {
    writeFileSync(
      join(work, 'consumer.ts'),
      `import { JwtIssuerModule, type JwtIssuerModuleOptions, JwtIssuerErrorCode } from 'nest-jwt-issuer';
const options: JwtIssuerModuleOptions = { ignoreEnvVars: true };
const code: 'ERR_JWT_ISSUER_CONFIG_INVALID' = JwtIssuerErrorCode.CONFIG_INVALID;
export const m = JwtIssuerModule.forRoot(options);
export { code };
`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2023',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          experimentalDecorators: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({ type: 'module' }),
    );
    // Throws (and fails the test) with tsc's diagnostics if the types do not resolve.
    run(
      join(root, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.json'],
      work,
    );
  });

  it('works with Nest 11 (@nestjs/config 4) too: every capability and the guard over real HTTP', () => {
    // A separate folder with its own node_modules: Nest 11 from the registry, and the same packed tarball.
    const dir = join(work, 'nest11');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ type: 'module', private: true }),
    );
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '@nestjs/common@11',
        '@nestjs/core@11',
        '@nestjs/platform-express@11',
        '@nestjs/config@4',
        'reflect-metadata@0.2',
        'rxjs@7',
        tarball,
      ],
      dir,
    );
    copyFileSync(
      join(import.meta.dirname, 'fixtures', 'nest11-consumer.mjs'),
      join(dir, 'consumer.mjs'),
    );
    const out = run('node', ['consumer.mjs'], dir);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      guardedWithToken: 200,
      guardedWithout: 401,
      jwks: 200,
      nats: 3,
      seald: 3,
      vonage: 3,
    });
  }, 180_000);
});
