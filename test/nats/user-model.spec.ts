import { execFileSync } from 'node:child_process';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueUserJwt,
  JwtIssuerErrorCode,
  type NatsUserLimits,
  type NatsUserPermissions,
} from '../../lib/index.js';
import { rawConnect } from '../support/nats-raw-connect.js';
import {
  findNatsServer,
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';
import {
  independentNatsSetup,
  type IndependentNatsSetup,
} from '../support/nats-setup.js';
import { errorOf, handSignUserJwt } from './nats-test-kit.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The version of the nats-server on this machine, as [major, minor, patch]. */
function serverVersion(): number[] {
  const out = execFileSync(findNatsServer(), ['--version']).toString();
  return /v?(\d+)\.(\d+)\.(\d+)/.exec(out)!.slice(1).map(Number);
}

function atLeast(version: number[], wanted: string): boolean {
  const w = wanted.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if (version[i] !== w[i]) return version[i] > w[i];
  }
  return true;
}

/** The Go v2 JSON of the options, written here independently of the library (for the hand-signed tokens). */
function goJson(
  permissions: NatsUserPermissions | undefined,
  limits: NatsUserLimits | undefined,
): Record<string, unknown> {
  const l = limits ?? {};
  return {
    ...(permissions?.pub ? { pub: permissions.pub } : {}),
    ...(permissions?.sub ? { sub: permissions.sub } : {}),
    ...(permissions?.resp
      ? { resp: { max: permissions.resp.max, ttl: permissions.resp.ttl ?? 0 } }
      : {}),
    ...(l.src ? { src: l.src } : {}),
    ...(l.times ? { times: l.times } : {}),
    ...(l.timesLocation !== undefined
      ? { times_location: l.timesLocation }
      : {}),
    subs: l.subs ?? -1,
    data: l.data ?? -1,
    payload: l.payload ?? -1,
    ...(l.bearerToken ? { bearer_token: true } : {}),
    ...(l.allowedConnectionTypes
      ? { allowed_connection_types: l.allowedConnectionTypes }
      : {}),
  };
}

interface Case {
  title: string;
  permissions?: NatsUserPermissions;
  limits?: NatsUserLimits;
}

const ALL_DAY = { start: '00:00:00', end: '23:59:59' };

/** Accepted by the library: each must connect (over TCP, from 127.0.0.1). */
const ACCEPTED: Case[] = [
  {
    title: 'pub/sub allow and deny with wildcards',
    permissions: {
      pub: { allow: ['orders.>', 'a.*.c'], deny: ['orders.secret'] },
      sub: { allow: ['>'], deny: ['x.*'] },
    },
  },
  {
    title: 'a subscribe permission with a queue group',
    permissions: { sub: { allow: ['jobs.> workers', '_INBOX.>'] } },
  },
  {
    title: 'response permission',
    permissions: { resp: { max: 1, ttl: 5_000_000_000 } },
  },
  { title: 'src: one IPv4 /32', limits: { src: ['127.0.0.1/32'] } },
  {
    title: 'src: IPv4 and IPv6 blocks, prefix with leading zero',
    limits: { src: ['10.0.0.0/8', '::1/128', '127.0.0.0/08', '2001:db8::/32'] },
  },
  { title: 'src: everything', limits: { src: ['0.0.0.0/0'] } },
  { title: 'times: all day', limits: { times: [ALL_DAY] } },
  {
    title: 'times: one-digit hour, fractional second, two ranges',
    limits: {
      times: [
        { start: '0:00:00', end: '11:59:59.999' },
        { start: '12:00:00', end: '23:59:59' },
      ],
    },
  },
  {
    title: 'timesLocation: an IANA zone',
    limits: { times: [ALL_DAY], timesLocation: 'Europe/Paris' },
  },
  {
    title: 'timesLocation: an alias (US/Eastern)',
    limits: { times: [ALL_DAY], timesLocation: 'US/Eastern' },
  },
  {
    title: 'timesLocation: Etc/GMT+5',
    limits: { times: [ALL_DAY], timesLocation: 'Etc/GMT+5' },
  },
  {
    title: 'timesLocation: UTC and Local, as Go accepts them',
    limits: { times: [ALL_DAY], timesLocation: 'Local' },
  },
  {
    title: 'numeric limits',
    limits: { subs: 10, data: 1_000_000, payload: 0 },
  },
  { title: 'bearer token', limits: { bearerToken: true } },
  {
    title: 'allowed connection types',
    limits: { allowedConnectionTypes: ['STANDARD', 'WEBSOCKET', 'MQTT'] },
  },
];

interface RefusedCase extends Case {
  /** The field the error names. */
  field: string;
  /** nats-server refuses the hand-signed token from this version on (Go nats-io/jwt rule added later). */
  serverSince?: string;
  /** The library is stricter than the server here: the server accepts, for this reason. */
  stricter?: string;
  /** Why the server refused (its debug log line), where it is specific to the case. */
  log?: RegExp;
}

/** Refused by the library with INVALID_ARGUMENT naming the field; the same claims signed by hand are refused by nats-server. */
const REFUSED: RefusedCase[] = [
  {
    title: 'src: an address without a prefix length',
    limits: { src: ['192.0.2.1'] },
    log: /invalid cidr "192\.0\.2\.1"/,
    field: 'limits.src[0]',
  },
  {
    title: 'src: an IPv4 prefix over 32',
    limits: { src: ['127.0.0.1/33'] },
    log: /invalid cidr "127\.0\.0\.1\/33"/,
    field: 'limits.src[0]',
  },
  {
    title: 'src: an IPv6 prefix over 128',
    limits: { src: ['127.0.0.1/32', '::1/129'] },
    log: /invalid cidr "::1\/129"/,
    field: 'limits.src[1]',
  },
  {
    title: 'src: an IPv6 zone',
    limits: { src: ['fe80::1%eth0/64'] },
    log: /invalid cidr "fe80::1%eth0\/64"/,
    field: 'limits.src[0]',
  },
  {
    title: 'src: an IPv4 octet with a leading zero',
    limits: { src: ['127.0.0.01/32'] },
    log: /invalid cidr "127\.0\.0\.01\/32"/,
    field: 'limits.src[0]',
  },
  {
    title: 'src: a host name',
    limits: { src: ['localhost/32'] },
    log: /invalid cidr "localhost\/32"/,
    field: 'limits.src[0]',
  },
  {
    title: 'src: a leading space',
    limits: { src: [' 127.0.0.1/32'] },
    log: /invalid cidr " 127\.0\.0\.1\/32"/,
    field: 'limits.src[0]',
  },
  {
    title: 'times: hour 25',
    limits: { times: [{ start: '25:00:00', end: '26:00:00' }] },
    log: /start in time range is invalid "25:00:00"/,
    field: 'limits.times[0].start',
  },
  {
    title: 'times: no seconds',
    limits: { times: [{ start: '08:00:00', end: '17:00' }] },
    log: /end in time range is invalid "17:00"/,
    field: 'limits.times[0].end',
  },
  {
    title: 'times: second 60',
    limits: { times: [{ start: '08:00:60', end: '17:00:00' }] },
    log: /start in time range is invalid "08:00:60"/,
    field: 'limits.times[0].start',
  },
  {
    title: 'times: an empty start',
    limits: { times: [{ start: '', end: '17:00:00' }] },
    log: /time ranges start must contain a start/,
    field: 'limits.times[0].start',
  },
  {
    title: 'times: a one-digit minute',
    limits: { times: [{ start: '08:0:00', end: '17:00:00' }] },
    log: /start in time range is invalid "08:0:00"/,
    field: 'limits.times[0].start',
  },
  {
    title: 'timesLocation: an unknown zone',
    limits: { times: [ALL_DAY], timesLocation: 'Mars/Olympus_Mons' },
    log: /unknown time zone Mars\/Olympus_Mons/,
    field: 'limits.timesLocation',
  },
  {
    title: 'timesLocation: a zone in the wrong case',
    limits: { times: [ALL_DAY], timesLocation: 'europe/paris' },
    log: /unknown time zone europe\/paris/,
    field: 'limits.timesLocation',
  },
  {
    title: 'timesLocation: an alias in the wrong case',
    limits: { times: [ALL_DAY], timesLocation: 'us/eastern' },
    field: 'limits.timesLocation',
    log: /unknown time zone us\/eastern/,
  },
  {
    title: 'timesLocation: an offset',
    limits: { times: [ALL_DAY], timesLocation: '+02:00' },
    log: /unknown time zone \+02:00/,
    field: 'limits.timesLocation',
  },
  {
    title: 'pub: a queue group on a publish subject',
    permissions: { pub: { allow: ['orders.> workers'] } },
    log: /"orders\.> workers" is not allowed to contain queue/,
    field: 'permissions.pub.allow[0]',
  },
  {
    title: 'sub: more than one space',
    permissions: { sub: { allow: ['jobs.> workers extra'] } },
    log: /"jobs\.> workers extra" contains too many spaces/,
    field: 'permissions.sub.allow[0]',
  },
  {
    title: 'sub: a leading space (an empty subject before the queue)',
    permissions: { sub: { deny: [' jobs.>'] } },
    field: 'permissions.sub.deny[0]',
  },
  {
    title: 'pub: a trailing space',
    permissions: { pub: { deny: ['orders. '] } },
    log: /"orders\. " is not allowed to contain queue/,
    field: 'permissions.pub.deny[0]',
  },
  {
    title: 'pub: an empty subject',
    permissions: { pub: { allow: [''] } },
    field: 'permissions.pub.allow[0]',
  },
  {
    title: 'sub: an empty token',
    permissions: { sub: { allow: ['orders..new'] } },
    field: 'permissions.sub.allow[0]',
    serverSince: '2.10.12',
  },
  {
    title: 'pub: a leading dot',
    permissions: { pub: { allow: ['.orders'] } },
    field: 'permissions.pub.allow[0]',
    serverSince: '2.10.12',
  },
  {
    title: 'sub: a trailing dot on the queue group',
    permissions: { sub: { allow: ['orders.> workers.'] } },
    field: 'permissions.sub.allow[0]',
    serverSince: '2.10.12',
  },
  {
    title: 'allowedConnectionTypes: only an unknown type',
    limits: { allowedConnectionTypes: ['FOO' as never] },
    log: /invalid connection types \["FOO"\]/,
    field: 'limits.allowedConnectionTypes[0]',
  },
  {
    title: 'subs: a fraction',
    limits: { subs: 1.5 },
    log: /cannot unmarshal number 1\.5 into Go struct field \S*subs/,
    field: 'limits.subs',
  },
  {
    title: 'resp.max: a fraction',
    permissions: { resp: { max: 0.5 } },
    log: /cannot unmarshal number 0\.5 into Go struct field \S*resp\.max/,
    field: 'permissions.resp.max',
  },
  {
    title: 'allowedConnectionTypes: a typo beside a known type',
    limits: { allowedConnectionTypes: ['STANDARD', 'WEBSOCKETS' as never] },
    field: 'limits.allowedConnectionTypes[1]',
    stricter:
      'the server ignores unknown types while one is known; a typo is refused here',
  },
  {
    title: 'payload: below -1',
    limits: { payload: -2 },
    field: 'limits.payload',
    stricter:
      'Go takes any int64; -1 is "unlimited", other negatives mean nothing',
  },
];

describe('permissions and limits: the library signs what nats-server accepts and refuses what it refuses (real server)', () => {
  let setup: IndependentNatsSetup;
  let server: RunningNatsServer;
  const version = serverVersion();

  beforeAll(async () => {
    setup = await independentNatsSetup();
    server = await startNatsServer(setup.config);
  });
  afterAll(async () => {
    await server?.stop();
  });

  function issue(c: Case, publicUserKey: string): string {
    return issueUserJwt({
      signingKey: setup.unscopedSeed,
      accountId: setup.accountId,
      accountJwt: setup.accountJwt,
      publicUserKey,
      expiresIn: 300,
      permissions: c.permissions,
      limits: c.limits,
    });
  }

  it.each(ACCEPTED.map((c) => [c.title, c] as const))(
    'accepted, connects: %s',
    async (_, c) => {
      const user = createUser();
      const jwt = issue(c, user.getPublicKey());
      const nats = (
        JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as {
          nats: Record<string, unknown>;
        }
      ).nats;
      // the library wrote exactly the Go JSON of the options
      expect(nats).toEqual({
        ...goJson(c.permissions, c.limits),
        issuer_account: setup.accountId,
        type: 'user',
        version: 2,
      });
      expect(await rawConnect(server.port, jwt, text(user.getSeed()))).toBe(
        'ok',
      );
    },
  );

  it.each(REFUSED.map((c) => [c.title, c] as const))(
    'refused, and the server refuses it too: %s',
    async (_, c) => {
      const user = createUser();
      const error = errorOf(() => issue(c, user.getPublicKey()));
      expect(error.code).toBe(JwtIssuerErrorCode.INVALID_ARGUMENT);
      expect(error.message).toMatch(
        new RegExp(`^${c.field.replace(/[.[\]]/g, '\\$&')}: `),
      );
      // The same claims, signed by hand with the same key.
      const jwt = handSignUserJwt(setup.unscopedSeed, {
        name: user.getPublicKey(),
        sub: user.getPublicKey(),
        exp: Math.floor(Date.now() / 1000) + 300,
        nats: {
          ...goJson(c.permissions, c.limits),
          issuer_account: setup.accountId,
        },
      });
      const outcome = await rawConnect(server.port, jwt, text(user.getSeed()));
      if (c.stricter) {
        expect(outcome).toBe('ok');
      } else if (c.serverSince && !atLeast(version, c.serverSince)) {
        // Go nats-io/jwt added this rule later (v2.5.4, nats-server 2.10.12); this older server still connects.
        expect(outcome).toBe('ok');
      } else {
        expect(outcome).toMatch(/Authorization Violation/i);
        await server.waitForLog(
          c.log ?? /User JWT no longer valid: .*subject cannot be empty/,
        );
      }
    },
  );
});
