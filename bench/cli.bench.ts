import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compare } from './harness.js';

const run = promisify(execFile);

/**
 * The CLI's start-up: whole processes (`node …/cli/main.js <command>`) from start to exit, against `node -e 0`
 * (Node's own start-up, the floor). Ops/s are processes per second; the table below it gives milliseconds per run.
 */
export default async function (): Promise<void> {
  const main = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    'lib',
    'cli',
    'main.js',
  );
  const dir = mkdtempSync(join(tmpdir(), 'cli-bench-'));
  try {
    const cli = (...args: string[]) =>
      run(process.execPath, [main, ...args], { cwd: dir });
    await cli('keys', 'service', '--alg', 'EdDSA', '--out', 'k.pem');
    const jwks = (await cli('keys', 'service', '--out', 'r.pem')).stdout;
    writeFileSync(join(dir, 'jwks.json'), jwks);
    await cli('keys', 'nats', '--dir', 'nats');
    const account = /ACCOUNT_ID=(\S+)/.exec(
      readFileSync(join(dir, 'nats', 'jwt-issuer.env'), 'utf8'),
    )![1];
    const token = (
      await cli(
        'token',
        'service',
        '--key',
        'r.pem',
        '--iss',
        'https://a.internal',
        '--sub',
        'a',
      )
    ).stdout.trim();
    const user = 'UASUIE7J46RAAZLJTKXA3QKVSEJI7ST6LA3TCDZ64J6S2I5LMRFDDIPD';
    const contenders: [string, string[]][] = [
      ['node -e 0 (Node itself)', ['-e', '0']],
      ['--help', [main, '--help']],
      ['inspect TOKEN', [main, 'inspect', token]],
      [
        'verify TOKEN --jwks FILE',
        [main, 'verify', token, '--jwks', 'jwks.json'],
      ],
      [
        'token nats --user U',
        [
          main,
          'token',
          'nats',
          '--signing-key',
          'nats/signing-key.nk',
          '--account',
          account,
          '--user',
          user,
        ],
      ],
      [
        'token service (EdDSA key; loads @nestjs/common)',
        [
          main,
          'token',
          'service',
          '--key',
          'k.pem',
          '--iss',
          'https://a.internal',
          '--sub',
          'a',
        ],
      ],
      ['check (loads Nest, @nestjs/config, every capability)', [main, 'check']],
    ];
    const results = await compare(
      'CLI start-up to exit, whole process (processes/s)',
      contenders.map(([name, args]) => ({
        name,
        fn: () => run(process.execPath, args, { cwd: dir }),
      })),
      { rounds: 6, seconds: 6 },
    );
    console.log(
      [
        '\n| command | ms per run (best round) | × `node -e 0` |',
        '|---|---:|---:|',
        ...results.map(
          (r) =>
            `| \`${r.name}\` | ${Math.round(1000 / r.opsPerSec)} | ${(1 / r.ratio).toFixed(2)} |`,
        ),
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
