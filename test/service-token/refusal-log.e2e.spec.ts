import 'reflect-metadata';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type JwtIssuerConfigError,
  ServiceTokenGuard,
} from '../../lib/index.js';
import {
  readJwtIssuerEnv,
  resolveJwtIssuerOptions,
} from '../../lib/jwt-issuer.capabilities.js';
import { forge, headerOf, rsaKeys } from '../support/forge.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';
import { waitFor } from '../support/service-token-transports.js';

// A flood of bad tokens must cost a bounded number of log lines: `refusalLogLines` detailed warnings per
// `refusalLogWindow`, shared by every ServiceTokenGuard of the app, then one summary line per window, by code.

const ISSUER = 'http://flood.test';
const keys = rsaKeys();
const otherKeys = rsaKeys();
const now = (): number => Math.floor(Date.now() / 1000);

@Controller('a')
class BaseGuardController {
  @UseGuards(ServiceTokenGuard)
  @Get()
  a(): string {
    return 'a';
  }
}

@Controller('b')
class ContextsGuardController {
  @UseGuards(ServiceTokenGuard.with({ contexts: ['http'] }))
  @Get()
  b(): string {
    return 'b';
  }
}

/** The bad `authorization` values of the flood (undefined: no header), each with the code it must be refused with. */
function badKinds(kid: string): [string | undefined, string][] {
  const claims = {
    source: 'microservice',
    iss: ISSUER,
    sub: 'attacker',
    iat: now(),
    exp: now() + 60,
  };
  return [
    [undefined, 'ERR_JWT_ISSUER_TOKEN_MISSING'],
    ['Bearer not-a-token', 'ERR_JWT_ISSUER_TOKEN_MALFORMED'],
    ['Bearer \u00ff\u00fe.\u00e9x.y', 'ERR_JWT_ISSUER_TOKEN_MALFORMED'],
    [
      `Bearer ${forge({ alg: 'RS256', kid }, claims, otherKeys.privateKey)}`,
      'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
    ],
    [
      `Bearer ${forge({ alg: 'RS256', kid }, { ...claims, iat: now() - 120, exp: now() - 60 }, keys.privateKey)}`,
      'ERR_JWT_ISSUER_TOKEN_EXPIRED',
    ],
    [
      `Bearer ${forge({ alg: 'RS256', kid: 'no-such-kid' }, claims, keys.privateKey)}`,
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    ],
    [`Bearer ${'A'.repeat(10_000)}`, 'ERR_JWT_ISSUER_TOKEN_TOO_LARGE'],
  ];
}

const guardLines = (logs: LogCollector, from = 0) =>
  logs.lines.slice(from).filter((l) => l.includes('ServiceTokenGuard'));
const detailed = (lines: string[]) =>
  lines.filter((l) => l.startsWith('Refused service token on '));
const summaries = (lines: string[]) =>
  lines.filter((l) =>
    / more refused calls in the last \d+ s not logged /.test(l),
  );

/** The counts by code of a summary line. */
function countsOf(summary: string): Record<string, number> {
  const list = /not logged \(([^)]*)\)/.exec(summary)![1];
  return Object.fromEntries(
    list.split(', ').map((entry) => {
      const [code, n] = entry.split(' ');
      return [code, Number(n.replaceAll(',', ''))];
    }),
  );
}

/** The code of each detailed line. */
function codesOf(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const code = /(ERR_JWT_ISSUER_[A-Z_]+)/.exec(l)![1];
    out[code] = (out[code] ?? 0) + 1;
  }
  return out;
}

function add(into: Record<string, number>, from: Record<string, number>) {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

interface Flood {
  /** Refusals sent, by expected code. */
  sent: Record<string, number>;
  /** Statuses of the bad calls, and of the good calls made during the flood. */
  badStatuses: Record<number, number>;
  goodStatuses: Record<number, number>;
  /** From before the first request to after the last response. */
  spanMs: number;
}

/** Sends `count` bad calls (kinds in turn, to /a and /b in turn) and a good one every 50, 16 at a time. */
async function flood(
  app: RunningApp,
  count: number,
  concurrency = 16,
): Promise<Flood> {
  const kid = headerOf(await app.service.getToken()).kid as string;
  const kinds = badKinds(kid);
  const good = await app.service.authorizationHeader();
  const out: Flood = {
    sent: {},
    badStatuses: {},
    goodStatuses: {},
    spanMs: 0,
  };
  const jobs: { authorization: string | undefined; code?: string }[] = [];
  for (let i = 0; i < count; i++) {
    const [authorization, code] = kinds[i % kinds.length];
    jobs.push({ authorization, code });
    if (i % 50 === 49) jobs.push({ authorization: good });
  }
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const { authorization, code } = jobs[i];
      const res = await fetch(`${app.url}/${i % 2 ? 'a' : 'b'}`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      await res.arrayBuffer();
      const into = code === undefined ? out.goodStatuses : out.badStatuses;
      into[res.status] = (into[res.status] ?? 0) + 1;
      if (code !== undefined) out.sent[code] = (out.sent[code] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  out.spanMs = Date.now() - started;
  return out;
}

/** The app under attack: its own tokens accepted, routes /a (ServiceTokenGuard) and /b (a `with` class). */
const startFloodApp = (
  logger: LogCollector,
  refusalLogLines: number,
  refusalLogWindow: number,
) =>
  startServiceApp(
    {
      name: 'flood',
      issuer: ISSUER,
      privateKey: keys.privatePem,
      refusalLogLines,
      refusalLogWindow,
    },
    { logger, controllers: [BaseGuardController, ContextsGuardController] },
  );

describe('refusal logs under a flood of bad tokens (real HTTP, Express)', () => {
  let app: RunningApp | undefined;
  afterEach(async () => {
    await app?.app.close();
    app = undefined;
  });

  it('2,000 bad tokens of 7 kinds on two guard classes: every one 401, good tokens 200 meanwhile, at most 10 warnings, and one summary with the count per code when the app closes', async () => {
    const logs = new LogCollector();
    app = await startFloodApp(logs, 10, 3600);
    const before = logs.lines.length;
    const result = await flood(app, 2000);
    expect(result.badStatuses).toEqual({ 401: 2000 });
    expect(result.goodStatuses).toEqual({ 200: 40 });

    // One budget for both guard classes: 10 detailed lines, and no summary before the (hour-long) window ends.
    const during = guardLines(logs, before);
    expect(detailed(during)).toHaveLength(10);
    expect(summaries(during)).toHaveLength(0);
    expect(during).toHaveLength(10);

    await app.app.close();
    app = undefined;
    const after = guardLines(logs, before);
    const summary = summaries(after);
    expect(summary).toHaveLength(1);
    expect(after).toHaveLength(11);
    expect(summary[0]).toMatch(
      /^1,990 more refused calls in the last \d+ s not logged \(/,
    );
    // Every refusal is accounted for: the detailed ones plus the counted ones, by code.
    expect(add(codesOf(detailed(after)), countsOf(summary[0]))).toEqual(
      result.sent,
    );
    // The summary holds codes and counts only: nothing of the tokens.
    expect(summary[0]).toMatch(
      /^[\d,]+ more refused calls in the last \d+ s not logged \((ERR_JWT_ISSUER_[A-Z_]+ [\d,]+(, )?)+\) ServiceTokenGuard$/,
    );
  }, 120_000);

  it('the summary comes when the window ends, with no later refusal and the app still open; a quiet app writes nothing more', async () => {
    const logs = new LogCollector();
    app = await startFloodApp(logs, 3, 1);
    const before = logs.lines.length;
    const result = await flood(app, 70);
    expect(result.badStatuses).toEqual({ 401: 70 });
    const sentTotal = 70;
    const counted = () =>
      summaries(guardLines(logs, before)).reduce(
        (n, s) => n + Object.values(countsOf(s)).reduce((a, b) => a + b, 0),
        0,
      );
    await waitFor(
      () => counted() + detailed(guardLines(logs, before)).length === sentTotal,
      'every refusal logged or summarized',
    );
    const lines = guardLines(logs, before);
    expect(
      add(
        codesOf(detailed(lines)),
        summaries(lines).reduce((acc, s) => add(acc, countsOf(s)), {}),
      ),
    ).toEqual(result.sent);
    // At most 3 detailed lines and one summary per window of 1 s.
    const windows = Math.ceil(result.spanMs / 1000) + 1;
    expect(detailed(lines).length).toBeLessThanOrEqual(3 * windows);
    expect(summaries(lines).length).toBeLessThanOrEqual(windows);
    if (result.spanMs < 1000) {
      // The whole flood fell in the first window: 3 detailed lines and exactly one summary.
      expect(detailed(lines)).toHaveLength(3);
      expect(summaries(lines)).toHaveLength(1);
    }
    // Quiet: no timer runs and nothing more is written.
    const settled = logs.lines.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(guardLines(logs, settled)).toEqual([]);
  }, 120_000);
});

const base = { name: 'flood', issuer: ISSUER, privateKey: keys.privatePem };
const resolve = (
  options: Parameters<typeof resolveJwtIssuerOptions>[0],
  env: Record<string, string> = {},
) =>
  resolveJwtIssuerOptions(options, readJwtIssuerEnv(env), {
    production: false,
    logger: new LogCollector(),
  });

describe('service.refusalLogLines and service.refusalLogWindow', () => {
  it('default to 10 lines per 60 s and are read from JWT_ISSUER_SERVICE_REFUSAL_LOG_LINES / _WINDOW', async () => {
    const defaults = (await resolve({ service: base }))!.service!;
    expect([defaults.refusalLogLines, defaults.refusalLogWindow]).toEqual([
      10, 60,
    ]);
    const fromEnv = (await resolve(
      { service: base },
      {
        JWT_ISSUER_SERVICE_REFUSAL_LOG_LINES: '0',
        JWT_ISSUER_SERVICE_REFUSAL_LOG_WINDOW: '300',
      },
    ))!.service!;
    expect([fromEnv.refusalLogLines, fromEnv.refusalLogWindow]).toEqual([
      0, 300,
    ]);
  });

  it('refuses a negative or fractional line count and a window under 1 s', async () => {
    const e = (await resolve({
      service: { ...base, refusalLogLines: 2.5, refusalLogWindow: 0.5 },
    }).catch((x: unknown) => x)) as JwtIssuerConfigError;
    expect(e.code).toBe('ERR_JWT_ISSUER_CONFIG_INVALID');
    expect(e.message).toMatch(
      /service\.refusalLogLines.*must be an integer >= 0 \(seconds or count\), got 2\.5/,
    );
    expect(e.message).toMatch(
      /service\.refusalLogWindow.*must be a number >= 1 \(seconds or count\), got 0\.5/,
    );
    const negative = (await resolve({
      service: { ...base, refusalLogLines: -1 },
    }).catch((x: unknown) => x)) as JwtIssuerConfigError;
    expect(negative.message).toMatch(
      /service\.refusalLogLines.*must be an integer >= 0/,
    );
  });
});
