import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNatsServer } from '../support/nats-server.js';
import { freePort } from '../support/broker-process.js';

// docs/sample.md, run as the page writes it: its ```bash blocks are the commands (```bash keeps-running ones are
// left running, as in a terminal of their own), each ```text block after a command block lists lines its output
// must hold (… matches anything). Everything runs in a fresh copy of the repository (what a clone holds, the
// working tree's edits included; node_modules linked), so `npm start`, sample/.dev/ and the npm scripts are the real
// ones. Two changes only, so that parallel test runs do not collide: the ports (3000 and 4222 of the page become
// free ones, through PORT, `-p` and NATS_URL) and `npm ci` (the copy links the installed node_modules instead).
const root = join(import.meta.dirname, '..', '..');
const page = readFileSync(join(root, 'docs', 'sample.md'), 'utf8');

interface Step {
  heading: string;
  kind: 'run' | 'keeps-running';
  commands: string;
  expected: string[];
}

/** The page's steps, in order: every bash block, with the text block that follows it (if any). */
function steps(markdown: string): Step[] {
  const out: Step[] = [];
  let heading = '';
  const fence = /^```(\S*)([^\n]*)\n([\s\S]*?)^```$/gm;
  const headings = [...markdown.matchAll(/^#+ (.*)$/gm)];
  for (const m of markdown.matchAll(fence)) {
    heading = headings.filter((h) => h.index < m.index).pop()?.[1] ?? heading;
    const [, lang, info, body] = m;
    if (lang === 'bash') {
      out.push({
        heading,
        kind: info.trim() === 'keeps-running' ? 'keeps-running' : 'run',
        commands: body,
        expected: [],
      });
    } else if (lang === 'text' && out.length > 0) {
      out[out.length - 1].expected.push(
        ...body.split('\n').filter((l) => l.trim() !== ''),
      );
    }
  }
  return out;
}

const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const stripAnsi = (s: string) => s.replace(ANSI_COLOUR, '');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** An expected line as a pattern: literal text, `…` for anything. */
const linePattern = (line: string) =>
  new RegExp(line.trim().split('…').map(escape).join('.*'));

/** A bash that keeps its variables from block to block, like the reader's terminal. */
class Terminal {
  private readonly shell: ChildProcess;
  private out = '';
  private err = '';
  private n = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.shell = spawn('bash', ['--norc', '--noprofile'], {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.shell
      .stdout!.setEncoding('utf8')
      .on('data', (d: string) => (this.out += d));
    this.shell
      .stderr!.setEncoding('utf8')
      .on('data', (d: string) => (this.err += d));
    this.shell.stdin!.write('set -o pipefail\n');
  }

  /** Runs a block; resolves with its stdout, stderr and the status of its last command (fails on any non-zero). */
  async run(
    block: string,
    timeoutMs = 120_000,
  ): Promise<{ stdout: string; stderr: string }> {
    const marker = `__STEP_${++this.n}__`;
    this.out = '';
    this.err = '';
    // Each line on its own, stopping at the first failure, as `set -e` would (without leaving the shell).
    const lines = block
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    const script = `__s=0; ${lines.map((l) => `if [ $__s -eq 0 ]; then ${l}\n__s=$?; fi;`).join(' ')} echo "${marker} $__s"; echo "${marker}" >&2\n`;
    this.shell.stdin!.write(script);
    const started = Date.now();
    while (!(this.out.includes(marker) && this.err.includes(marker))) {
      if (Date.now() - started > timeoutMs)
        throw new Error(`step timed out:\n${block}\n${this.out}\n${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = Number(new RegExp(`${marker} (\\d+)`).exec(this.out)![1]);
    const stdout = this.out.slice(0, this.out.indexOf(marker));
    const stderr = this.err.slice(0, this.err.indexOf(marker));
    if (status !== 0)
      throw new Error(
        `step failed (${status}):\n${block}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
      );
    return { stdout, stderr };
  }

  close(): void {
    this.shell.stdin!.end('exit\n');
  }
}

/** A command left running (its own process group), with everything it printed so far. */
interface Background {
  child: ChildProcess;
  output(): string;
}

function startBackground(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Background {
  const child = spawn('bash', ['-c', `exec ${command}`], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  return { child, output: () => stripAnsi(text) };
}

async function waitFor(
  bg: Background,
  ready: RegExp,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  while (!ready.test(bg.output())) {
    if (bg.child.exitCode !== null)
      throw new Error(`exited before ready:\n${bg.output()}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready in time:\n${bg.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('docs/sample.md, run as written: every flow of the sample (NATS, service token, Seald, Vonage)', () => {
  const all = steps(page);
  let copy: string;
  let appPort: number;
  let natsPort: number;
  let env: NodeJS.ProcessEnv;
  let terminal: Terminal;
  const running: Background[] = [];
  /** The page's text with this run's ports. */
  const ported = (s: string) =>
    s.replaceAll(':3000', `:${appPort}`).replaceAll(':4222', `:${natsPort}`);

  beforeAll(async () => {
    findNatsServer(); // the install hint, before anything else
    copy = mkdtempSync(join(tmpdir(), 'sample-path-'));
    const listed = await promisify(execFile)(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    for (const file of listed.stdout.split('\0')) {
      if (!file || !existsSync(join(root, file))) continue;
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(root, file), join(copy, file));
    }
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    appPort = await freePort();
    natsPort = await freePort();
    env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('JWT_ISSUER_')),
    );
    env.NODE_ENV = 'development';
    env.PORT = String(appPort);
    env.NATS_URL = `nats://127.0.0.1:${natsPort}`;
    delete env.SAMPLE_DEV_DIR;
    terminal = new Terminal(copy, env);
  }, 60_000);

  afterAll(async () => {
    terminal?.close();
    for (const bg of running) {
      try {
        process.kill(-bg.child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('the page has the steps of every flow, each followed by its expected output', () => {
    const headings = new Set(all.map((s) => s.heading));
    for (const h of [
      'Try it',
      'NATS: a user JWT for alice, accepted by nats-server',
      'Service tokens: the guard, the JWKS, verify',
      'Seald: SDK tokens from the development secret',
      'Vonage: Client SDK tokens from the development key',
    ]) {
      expect(
        [...headings].some((x) => x.startsWith(h)),
        h,
      ).toBe(true);
    }
    expect(
      all
        .filter((s) => s.kind === 'keeps-running')
        .map((s) => s.commands.trim()),
    ).toEqual(['npm start', 'nats-server -c sample/.dev/nats-server.conf']);
  });

  it('runs every step in order and prints what the page shows', async () => {
    for (const step of all) {
      if (step.commands.trim() === 'npm ci') continue; // node_modules is linked into the copy
      if (step.kind === 'keeps-running') {
        const command = step.commands.trim();
        const isNats = command.startsWith('nats-server ');
        const bg = startBackground(
          isNats ? `${command} -p ${natsPort}` : ported(command),
          copy,
          env,
        );
        running.push(bg);
        await waitFor(
          bg,
          isNats ? /Server is ready/ : /Listening on http:\/\/127\.0\.0\.1:\d+/,
          isNats ? 20_000 : 240_000,
        );
        for (const line of step.expected) {
          expect(bg.output(), `${step.heading}: ${line}`).toMatch(
            linePattern(ported(line)),
          );
        }
        continue;
      }
      const { stdout } = await terminal.run(ported(step.commands));
      for (const line of step.expected) {
        expect(stripAnsi(stdout), `${step.heading}: ${line}`).toMatch(
          linePattern(ported(line)),
        );
      }
    }
    // "The next npm start reuses sample/.dev/": restarted, the sample still trusts the token minted before, and
    // the nats-server started before (same configuration) still accepts the users it issues.
    const first = running[0];
    process.kill(-first.child.pid!, 'SIGTERM');
    await new Promise((r) => first.child.once('exit', r));
    const again = startBackground('npm start', copy, env);
    running.push(again);
    await waitFor(again, /Listening on http:\/\/127\.0\.0\.1:\d+/, 240_000);
    expect(again.output()).toMatch(/DEVELOPMENT service key reused/);
    expect(again.output()).toMatch(/NATS: DEVELOPMENT KEYS reused/);
    const after = await terminal.run(
      ported(
        [
          `curl -s localhost:3000/service-token/internal/report -H "authorization: Bearer $TOKEN"`,
          `curl -s -XPOST localhost:3000/nats/users -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{}' | npm run -s sample:nats-client`,
        ].join('\n'),
      ),
    );
    expect(after.stdout).toContain('"caller":"alice"');
    expect(after.stdout).toContain('allowed  users.alice.>');
    // What the page says npm start keeps: the dev folder, its secrets at 0600.
    for (const file of [
      'service-key.pem',
      'nats-account.json',
      'nats-server.conf',
      'seald-secret.txt',
      'vonage-key.pem',
    ]) {
      expect(
        statSync(join(copy, 'sample', '.dev', file)).mode & 0o777,
        file,
      ).toBe(0o600);
    }
    // No secret of sample/.dev in what the sample logged.
    const log = running.map((bg) => bg.output()).join('\n');
    for (const file of [
      'service-key.pem',
      'seald-secret.txt',
      'vonage-key.pem',
    ]) {
      const text = readFileSync(join(copy, 'sample', '.dev', file), 'utf8');
      for (const line of text
        .split('\n')
        .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        expect(log).not.toContain(line);
      }
    }
  }, 600_000);
});
