import 'reflect-metadata';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerConfigError,
  type JwtIssuerModuleOptions,
  type NatsAuthDecision,
  type NatsAuthorizer,
  type NatsUserPermissions,
} from '../../../lib/index.js';
import {
  isSafeSubjectValue,
  TEMPLATE_ALLOW_POOL,
  TEMPLATE_DENY_POOL,
} from '../../support/nats-template-oracle.js';
import { seededRandom } from '../../../bench/token-fuzzer.js';
import {
  configModeSetup,
  connectWatched,
  rawConnectWith,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  type CalloutApp,
  NATS_AUDIENCE,
  serviceSection,
  startCalloutApp,
} from './callout-app.js';

// Issue 23: a permissions template whose values are missing or unsafe must never become an empty allow list (which
// nats-server reads as "every subject"), and a deny entry must never vanish. Measured on a real nats-server 2.10 in
// config mode: an `observer` user of APP (in auth_users, so it bypasses the callout) watches what each admitted
// client can publish, and publishes what the client may receive.
//
// Replay a run with CALLOUT_PROPERTY_SEED=<seed> (printed in every failure).

const SEED = Number(process.env.CALLOUT_PROPERTY_SEED ?? 0x23ca11) >>> 0;
const REPLAY = `seed ${SEED} (replay: CALLOUT_PROPERTY_SEED=${SEED})`;
const WAIT_MS = 5000;
const SETTLE_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a rejection naming `what` after `ms`: no wait of this file is unbounded. */
async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = WAIT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The options this fix added (`audience`, required by 'service-token'; `emptyAllow`). One place, so that a run
 * against the code before the fix (which rejects unknown options) can leave them out.
 */
function fixOptions(o: {
  audience?: string;
  emptyAllow?: 'refuse-connection' | 'deny-all';
}): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle, written independently of lib/: safe values, NATS subject matching, template expansion.
// ---------------------------------------------------------------------------------------------------------------

const isSafe = isSafeSubjectValue;

/** The safe values of a claim: a string, or the strings of an array. */
function safeValues(claim: unknown): string[] {
  const list = Array.isArray(claim) ? (claim as unknown[]) : [claim];
  return list.filter(isSafe);
}

/** NATS wildcard semantics: `*` one token, `>` one or more trailing tokens. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** What one direction lets through: `allow` undefined = every subject, `[]` = none; deny wins. */
interface DirectionOracle {
  allow?: string[];
  deny: string[];
}
interface Oracle {
  pub: DirectionOracle;
  sub: DirectionOracle;
}

function allowed(d: DirectionOracle, subject: string): boolean {
  return (
    (d.allow === undefined || d.allow.some((a) => matches(a, subject))) &&
    !d.deny.some((x) => matches(x, subject))
  );
}

/** What the client may reach by design: its own name and teams (the values of its safe claims). */
interface Own {
  users: string[];
  teams: string[];
}

/** What the test expects of one connect: the outcome the fix gives, the safe-value permissions, the owner. */
interface Expected {
  outcome: 'admit' | 'refuse';
  why: string;
  oracle: Oracle;
  own: Own;
  /** Built-in templates never open admin, another team's or another user's subjects; a custom decision may. */
  closedByDesign: boolean;
}

const PLACEHOLDER = /^\{\{(name\(\)|tag\(([a-z0-9_-]+)\))\}\}$/;

/**
 * One template entry with only safe values: `undefined` when a placeholder has none. Placeholders are whole tokens
 * (the pools below are built so); each placeholder takes one value per subject, substituted at once.
 */
function expandEntry(
  entry: string,
  values: (placeholder: string) => string[],
): string[] | undefined {
  const tokens = entry.split('.');
  if (tokens.some((t) => t.includes('{{') && !PLACEHOLDER.test(t)))
    throw new Error(`pool entry ${entry}: a placeholder inside a token`);
  let assignments = [new Map<string, string>()];
  for (const placeholder of new Set(
    tokens.filter((t) => PLACEHOLDER.test(t)),
  )) {
    const v = values(placeholder);
    if (v.length === 0) return undefined;
    assignments = assignments.flatMap((a) =>
      v.map((x) => new Map([...a, [placeholder, x]])),
    );
  }
  return assignments.map((a) => tokens.map((t) => a.get(t) ?? t).join('.'));
}

/**
 * What a template of the built-in authorizers gives `name` and `claims` with only safe values:
 * - an allow entry with a missing or unsafe value is dropped; an allow list left empty allows nothing, and the fix
 *   refuses the connection (or, with `emptyAllow: 'deny-all'`, lets it in with nothing in that direction);
 * - a deny entry with no safe value for a placeholder denies that token for every value (`*`): a deny that vanished
 *   would widen the user; the fix refuses the connection.
 */
function expectTemplate(
  template: NatsUserPermissions,
  name: unknown,
  claims: Record<string, unknown>,
  tagClaims: readonly string[],
  emptyAllow: 'refuse-connection' | 'deny-all',
  nameRequired: boolean,
): Expected {
  const values = (placeholder: string): string[] => {
    if (placeholder === '{{name()}}') return isSafe(name) ? [name] : [];
    const tag = PLACEHOLDER.exec(placeholder)![2];
    return tagClaims.includes(tag) ? safeValues(claims[tag]) : [];
  };
  // Every value a placeholder gets, safe or not: the tags are the claim's strings as tagsFromClaims takes them.
  const tagValues = (placeholder: string): string[] => {
    if (placeholder === '{{name()}}') return [];
    const tag = PLACEHOLDER.exec(placeholder)![2];
    const claim = tagClaims.includes(tag) ? claims[tag] : undefined;
    const list = Array.isArray(claim)
      ? (claim as unknown[]).slice(0, 32)
      : [claim];
    return list.filter(
      (v): v is string => typeof v === 'string' && v !== '' && v.length <= 256,
    );
  };
  const refusals: string[] = [];
  if (nameRequired && !isSafe(name)) refusals.push('name unsafe');
  const oracle = {} as Oracle;
  for (const direction of ['pub', 'sub'] as const) {
    const p = template[direction];
    const d: DirectionOracle = { deny: [] };
    for (const entry of p?.deny ?? []) {
      const subjects = expandEntry(entry, values);
      // A deny entry is kept whole or the connection refused: one unsafe value of its tags refuses it too.
      const unsafeValue = entry
        .split('.')
        .some(
          (t) => PLACEHOLDER.test(t) && tagValues(t).some((v) => !isSafe(v)),
        );
      if (subjects && !unsafeValue) d.deny.push(...subjects);
      else {
        refusals.push(`${direction}.deny ${entry} cannot be expanded`);
        d.deny.push(
          entry
            .split('.')
            .map((t) => (PLACEHOLDER.test(t) && !values(t).length ? '*' : t))
            .join('.'),
        );
      }
    }
    if (p?.allow) {
      d.allow = p.allow.flatMap((entry) => expandEntry(entry, values) ?? []);
      if (d.allow.length === 0 && p.allow.length > 0) {
        if (emptyAllow === 'deny-all') d.deny = ['>'];
        else refusals.push(`${direction}.allow expands to no subject`);
      }
    }
    oracle[direction] = d;
  }
  return {
    outcome: refusals.length ? 'refuse' : 'admit',
    why: refusals.join('; ') || 'admitted',
    oracle,
    own: {
      users: isSafe(name) ? [name] : [],
      teams: tagClaims.flatMap((t) => safeValues(claims[t])),
    },
    closedByDesign: true,
  };
}

/** What a custom authorizer's decision gives: the decided lists themselves, an empty allow counting as nothing. */
function expectDecision(decision: NatsAuthDecision, own: Own): Expected {
  const oracle = {} as Oracle;
  const refusals: string[] = [];
  const p = decision.allow ? decision.permissions : undefined;
  for (const direction of ['pub', 'sub'] as const) {
    const list = p?.[direction];
    oracle[direction] = {
      // nats-server: with `resp` and no publish allow list, a user publishes only replies (validateResponsePermissions).
      allow: list?.allow
        ? [...list.allow]
        : direction === 'pub' && p?.resp
          ? []
          : undefined,
      deny: [...(list?.deny ?? [])],
    };
    if (list?.allow?.length === 0) refusals.push(`${direction}.allow is empty`);
  }
  return {
    outcome: refusals.length ? 'refuse' : 'admit',
    why: refusals.join('; ') || 'admitted',
    oracle,
    own,
    closedByDesign: false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Probing the real server.
// ---------------------------------------------------------------------------------------------------------------

const BASE_PROBES = [
  'admin.x',
  'admin.teams.blue',
  'teams.blue.x',
  'teams.red.x',
  'teams.blue.secret',
  'teams.red.secret',
  'teams.red.orders',
  'users.orders.x',
  'users.billing.x',
  'users.orders.private',
  'users.red.x',
  'public.x',
  'public.restricted',
  '_INBOX.abc',
  'other.x',
];
const WILDCARD_SUBS = [
  '>',
  'admin.>',
  'teams.*.x',
  'teams.>',
  'teams.red.>',
  'users.>',
  '*.x',
  'public.>',
  '_INBOX.>',
];

/** The literal probe subjects of one client: the base set and the subjects its own safe values make. */
function probesFor(own: Own): string[] {
  const extra: string[] = [];
  for (const u of own.users) extra.push(`users.${u}.x`, `users.${u}.private`);
  for (const t of own.teams) {
    extra.push(`teams.${t}.x`, `teams.${t}.secret`, `teams.${t}.y`);
    for (const u of own.users) extra.push(`teams.${t}.${u}`);
    for (const u of own.users) extra.push(`users.${u}.${t}`);
  }
  return [...new Set([...BASE_PROBES, ...extra])];
}

/** Subjects no client of this file may reach, whatever its values: admin, another team's, another user's. */
function forbiddenBecause(subject: string, own: Own): string | undefined {
  const [first, second] = subject.split('.');
  if (first === 'admin') return 'admin subject';
  if (first === 'teams' && !own.teams.includes(second))
    return "another team's subject";
  if (first === 'users' && !own.users.includes(second))
    return "another user's subject";
  return undefined;
}

interface Reach {
  published: Set<string>;
  received: Set<string>;
}
type Outcome =
  { admitted: false; error: string } | { admitted: true; reach: Reach };
/** How many connects of a family were admitted and refused: the property must see both. */
interface Tally {
  admitted: number;
  refused: number;
}
interface Credentials {
  token?: string;
  user?: string;
  pass?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The custom authorizer and the generators.
// ---------------------------------------------------------------------------------------------------------------

/** What {@link DecidedAuthorizer} answers next. */
let decision: NatsAuthDecision = { allow: false, reason: 'no decision set' };

/** A custom authorizer (a class named in `callout.authorizer`) answering the decision the test set. */
class DecidedAuthorizer implements NatsAuthorizer {
  authorize(): NatsAuthDecision {
    return decision;
  }
}

const SERVICE_TEMPLATES = 16;
const CLAIM_SETS = 6;
const PASSWORD_TEMPLATES = 10;
const CUSTOM_DECISIONS = 24;

const ALLOW_POOL = TEMPLATE_ALLOW_POOL;
const DENY_POOL = TEMPLATE_DENY_POOL;
const PASSWORD_ALLOW_POOL = [
  'users.{{name()}}.>',
  'users.{{name()}}.x',
  '_INBOX.>',
  'public.>',
];
const PASSWORD_DENY_POOL = ['users.{{name()}}.private', 'public.restricted'];

const LONG = 'x'.repeat(300);
const EDGE = 'e'.repeat(256);
/** Names: safe ones (`red` is never a name nor a team: it stands for "someone else") and unsafe ones. */
const SAFE_NAMES = [
  'orders',
  'billing',
  'inventory',
  'ü-ç',
  'a:b',
  EDGE,
  '{{tag(team)}}',
];
const UNSAFE_NAMES = ['*', '>', 'a.b', ' x', LONG, 'tab\tx', 'orders.>', ''];
const PASSWORD_NAMES = [...SAFE_NAMES, ...UNSAFE_NAMES.filter((n) => n !== '')];
/** Claim values of `team` and `role`: missing, safe, unsafe, not strings, arrays of good and bad values. */
const CLAIM_VALUES: unknown[] = [
  undefined,
  'blue',
  'green',
  'lead',
  EDGE,
  'ü',
  '',
  '*',
  '>',
  'blue.>',
  'a.b',
  ' x',
  'x\u0000',
  'bl ue',
  LONG,
  { name: 'blue' },
  42,
  true,
  null,
  [],
  ['blue', '*'],
  ['*', '>'],
  ['green', 'blue'],
  [{}, 'lead'],
  [['blue']],
  ['blue.>', ''],
  // A value that reads like a placeholder is only text: it is never expanded again.
  '{{tag(role)}}',
  ['{{name()}}', 'lead'],
];

interface Generator {
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(list: readonly T[]): T;
  /** `min`..`max` distinct items of `pool`. */
  some<T>(pool: readonly T[], min: number, max: number): T[];
}

/** A seeded generator; `stream` separates the families, so a change in one does not shift the others. */
function generator(seed: number, stream: number): Generator {
  const next = seededRandom((seed ^ Math.imul(stream, 0x9e3779b1)) >>> 0);
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
    some: (pool, min, max) => {
      const rest = [...pool];
      const n = Math.min(rest.length, min + int(max - min + 1));
      return Array.from(
        { length: n },
        () => rest.splice(int(rest.length), 1)[0],
      );
    },
  };
}

/** A template: pub and sub each with a non-empty allow list, often a deny list, sometimes `resp`. */
function randomTemplate(
  r: Generator,
  allowPool: readonly string[],
  denyPool: readonly string[],
): NatsUserPermissions {
  const direction = () => ({
    allow: r.some(allowPool, 1, 3),
    ...(r.chance(0.6) ? { deny: r.some(denyPool, 1, 2) } : {}),
  });
  return {
    pub: direction(),
    sub: direction(),
    ...(r.chance(0.3) ? { resp: { max: 1 } } : {}),
  };
}

/** A service token's `sub` (mostly safe) and its `team` and `role` claims (a missing one is left out). */
function randomClaims(r: Generator): {
  sub: unknown;
  claims: Record<string, unknown>;
} {
  const sub = r.chance(0.85) ? r.pick(SAFE_NAMES) : r.pick(UNSAFE_NAMES);
  const claims: Record<string, unknown> = {};
  for (const claim of ['team', 'role']) {
    const value = r.pick(CLAIM_VALUES);
    if (value !== undefined) claims[claim] = value;
  }
  return { sub, claims };
}

const CUSTOM_ALLOW = [
  'users.orders.>',
  'users.orders.x',
  'teams.blue.>',
  'teams.blue.x',
  'public.>',
  '_INBOX.>',
];
const CUSTOM_DENY = [
  'teams.blue.secret',
  'public.restricted',
  'users.orders.private',
];

const DECISION_KINDS = [
  'list',
  'allow-empty',
  'deny-empty',
  'deny-only',
  'absent',
] as const;

/**
 * A custom decision's permissions: each direction a list, an empty allow, an empty deny, deny only, or absent
 * (`pubKind` forces the kind of pub, so that every kind is met whatever the seed).
 */
function randomDecision(
  r: Generator,
  pubKind?: (typeof DECISION_KINDS)[number],
): {
  permissions: NatsUserPermissions;
  kind: string[];
} {
  const permissions: Record<string, unknown> = {};
  const kind: string[] = [];
  for (const direction of ['pub', 'sub']) {
    const k =
      direction === 'pub' && pubKind
        ? pubKind
        : r.pick([
            'list',
            'list',
            'list',
            'allow-empty',
            'allow-empty',
            'deny-empty',
            'deny-only',
            'absent',
          ]);
    kind.push(k);
    if (k === 'list')
      permissions[direction] = {
        allow: r.some(CUSTOM_ALLOW, 1, 3),
        ...(r.chance(0.5) ? { deny: r.some(CUSTOM_DENY, 1, 2) } : {}),
      };
    else if (k === 'allow-empty')
      permissions[direction] = {
        allow: [],
        ...(r.chance(0.5) ? { deny: r.some(CUSTOM_DENY, 1, 2) } : {}),
      };
    else if (k === 'deny-empty')
      permissions[direction] = { allow: r.some(CUSTOM_ALLOW, 1, 2), deny: [] };
    else if (k === 'deny-only')
      permissions[direction] = {
        deny: ['admin.>', 'teams.>', 'users.>', ...r.some(CUSTOM_DENY, 0, 1)],
      };
  }
  if (r.chance(0.3)) permissions.resp = { max: 1 };
  return { permissions: permissions as NatsUserPermissions, kind };
}

/**
 * Every way `outcome` breaks the property (and the fix's exact behaviour) for `expected`, as one entry naming the
 * case, or none. "WIDER" is the security property; "narrower" and the expected outcome pin the fix's behaviour.
 */
function judge(
  label: string,
  expected: Expected,
  literals: string[],
  outcome: Outcome,
  tally: Tally,
): string[] {
  const found: string[] = [];
  tally[outcome.admitted ? 'admitted' : 'refused']++;
  if (!outcome.admitted) {
    if (!/Authorization Violation/i.test(outcome.error))
      found.push(`refused with ${outcome.error}`);
    if (expected.outcome === 'admit')
      found.push('refused, but a safe expansion exists');
  } else {
    if (expected.outcome === 'refuse')
      found.push(`admitted, expected refused (${expected.why})`);
    for (const [direction, seen] of [
      ['pub', outcome.reach.published],
      ['sub', outcome.reach.received],
    ] as const) {
      const d = expected.oracle[direction];
      const verb = direction === 'pub' ? 'published on' : 'received';
      // "Nothing reaches admin, another team's or another user's subjects" holds wherever the decision itself does
      // not open them (a custom decision without that direction allows every subject by design).
      const explicit = literals.every(
        (s) => !forbiddenBecause(s, expected.own) || !allowed(d, s),
      );
      if (expected.closedByDesign && !explicit)
        found.push('test generator: the template opens a forbidden subject');
      const wider = [...seen].filter((s) => !allowed(d, s));
      if (wider.length)
        found.push(
          `WIDER: ${verb} ${wider.join(', ')}, which the template with safe values does not allow`,
        );
      const forbidden = [...seen].filter(
        (s) => explicit && forbiddenBecause(s, expected.own),
      );
      if (forbidden.length)
        found.push(
          `WIDER: ${verb} ${forbidden.map((s) => `${s} (${forbiddenBecause(s, expected.own)})`).join(', ')}`,
        );
      const narrower = literals.filter((s) => allowed(d, s) && !seen.has(s));
      if (narrower.length)
        found.push(`narrower: not ${verb} ${narrower.join(', ')}`);
    }
  }
  return found.length ? [`${label}:\n    - ${found.join('\n    - ')}`] : [];
}

/** The failures of a family, for the assertion message: the first dozen cases and a count. */
const verdict = (problems: string[]): string =>
  problems.length === 0
    ? 'none'
    : `${problems.length} failing cases, ${REPLAY}\n${problems.slice(0, 12).join('\n')}${problems.length > 12 ? `\n… and ${problems.length - 12} more` : ''}`;

/** A value shown in a failure message: long strings shortened, missing claims visible. */
const show = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v === undefined
      ? '<missing>'
      : typeof v === 'string' && v.length > 24
        ? `${v.slice(0, 6)}…(${v.length} chars)`
        : v,
  );

describe('auth callout permissions on a real nats-server 2.10: never wider than the template with safe values (issue 23)', () => {
  const setup = configModeSetup({ observer: true });
  const privateKey = servicePrivateKeyPem();
  let server: RunningNatsServer;
  let observer: NatsConnection;
  const observed: { subject: string; data: string }[] = [];
  let probeCount = 0;

  beforeAll(async () => {
    server = await startNatsServer(setup.config, [], findNatsServer210());
    const watched = await connectWatched(server.url, {
      user: setup.observerUser,
      pass: setup.observerPass,
      noEcho: true,
    });
    observer = watched.nc;
    observer.subscribe('>', {
      callback: (err, msg) => {
        if (!err) observed.push({ subject: msg.subject, data: msg.string() });
      },
    });
    await within(observer.flush(), 'observer flush');
  });
  afterAll(async () => {
    await observer?.close();
    await server?.stop();
  });

  /** The server's log from here on, once it matches `pattern`. */
  const logFrom = (start: number, pattern: RegExp) =>
    within(
      (async () => {
        while (!pattern.test(server.log().slice(start))) await sleep(20);
      })(),
      `server log ${pattern}`,
    );

  const callout = (extra: Record<string, unknown>) => ({
    servers: [server.url],
    user: setup.calloutUser,
    pass: setup.calloutPass,
    issuerKey: setup.issuerSeed,
    account: 'APP',
    maxExpiresIn: 600,
    ...extra,
  });

  /** A responder app with the 'service-token' authorizer (tag claims team and role). */
  const serviceTokenApp = (
    permissions: NatsUserPermissions,
    emptyAllow?: 'deny-all',
  ): Promise<CalloutApp> =>
    startCalloutApp({
      nats: {
        callout: callout({
          authorizer: 'service-token',
          tagClaims: ['team', 'role'],
          permissions,
          ...fixOptions({ audience: NATS_AUDIENCE, emptyAllow }),
        }),
      },
      service: serviceSection(privateKey),
    } as JwtIssuerModuleOptions);

  /** What an admitted client can do: subscribe to every probe, publish every probe, both ways through the observer. */
  async function probe(nc: NatsConnection, literals: string[]): Promise<Reach> {
    const mark = `probe-${++probeCount}`;
    observed.length = 0;
    const received = new Set<string>();
    for (const subject of [...literals, ...WILDCARD_SUBS]) {
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err && msg.string() === `${mark}:observer`)
            received.add(msg.subject);
        },
      });
    }
    await within(nc.flush(), 'client flush (subscriptions)');
    for (const s of literals) observer.publish(s, `${mark}:observer`);
    await within(observer.flush(), 'observer flush (publications)');
    for (const s of literals) nc.publish(s, `${mark}:client`);
    // The server queues a PONG behind the messages it delivered before: after both flushes, everything has arrived.
    await within(nc.flush(), 'client flush (publications)');
    await within(observer.flush(), 'observer flush (deliveries)');
    await sleep(SETTLE_MS);
    const published = new Set(
      observed.filter((m) => m.data === `${mark}:client`).map((m) => m.subject),
    );
    return { published, received };
  }

  /** Connects (raw first: the Node client can throw an uncaught EPIPE on a refusal), then probes if admitted. */
  async function attempt(
    credentials: Credentials,
    literals: string[],
  ): Promise<Outcome> {
    const raw = await rawConnectWith(
      server.port,
      credentials.token !== undefined
        ? { auth_token: credentials.token }
        : { user: credentials.user, pass: credentials.pass },
      undefined,
      WAIT_MS,
    );
    if (raw !== 'ok') return { admitted: false, error: raw };
    const client = await within(
      connectWatched(server.url, { ...credentials, noEcho: true }),
      'client connect',
    );
    try {
      return { admitted: true, reach: await probe(client.nc, literals) };
    } finally {
      await client.nc.close();
    }
  }

  describe('regressions: one per class of the bug', () => {
    const TEAM_TEMPLATE = {
      pub: { allow: ['teams.{{tag(team)}}.>'] },
      sub: { allow: ['teams.{{tag(team)}}.>'] },
    };
    const TEAM_PROBES = [
      'admin.x',
      'teams.red.x',
      'teams.blue.x',
      'users.orders.x',
      'other.x',
    ];

    describe('template `teams.{{tag(team)}}.>` with a team claim that yields no safe value: refused, never `allow: []`', () => {
      let app: CalloutApp;
      beforeAll(async () => {
        app = await serviceTokenApp(TEAM_TEMPLATE);
      });
      afterAll(() => app?.close());

      it.each([
        ['(1) the team claim missing', {}],
        ['(2) team "*"', { team: '*' }],
        ['(3) team "blue.>"', { team: 'blue.>' }],
        ['(4) team ""', { team: '' }],
        ['(5) team an object', { team: { name: 'blue' } }],
      ])('%s', async (_label, claims) => {
        const token = await app.serviceToken('orders', claims);
        const start = server.log().length;
        const outcome = await attempt({ token }, TEAM_PROBES);
        if (outcome.admitted) {
          // Were it admitted, it must reach nothing (before the fix it reached admin.x and teams.red.x).
          expect({
            published: [...outcome.reach.published],
            received: [...outcome.reach.received],
          }).toEqual({ published: [], received: [] });
        } else {
          expect(outcome.error).toMatch(/Authorization Violation/i);
          await logFrom(start, /permissions\.pub\.allow expands to no subject/);
        }
      });
    });

    it('(6) a deny entry that cannot be expanded (role missing) refuses the connection instead of vanishing', async () => {
      const app = await serviceTokenApp({
        pub: {
          allow: ['users.{{name()}}.>'],
          deny: ['users.{{name()}}.{{tag(role)}}'],
        },
        sub: { allow: ['users.{{name()}}.>'] },
      });
      try {
        const start = server.log().length;
        const outcome = await attempt(
          { token: await app.serviceToken('orders', { team: 'blue' }) },
          ['users.orders.x', 'users.orders.lead'],
        );
        expect(
          outcome.admitted
            ? `admitted: published on ${[...outcome.reach.published].join(', ')}`
            : outcome.error,
        ).toMatch(/Authorization Violation/i);
        await logFrom(start, /permissions\.pub\.deny\[0\] cannot be expanded/);
        // With a role the deny is kept: users.orders.lead is refused, the rest of users.orders.> is not.
        const lead = await attempt(
          { token: await app.serviceToken('orders', { role: 'lead' }) },
          ['users.orders.x', 'users.orders.lead'],
        );
        expect(lead.admitted && [...lead.reach.published]).toEqual([
          'users.orders.x',
        ]);
      } finally {
        await app.close();
      }
    });

    it('(7) a custom authorizer returning `pub: { allow: [] }` is refused', async () => {
      decision = {
        allow: true,
        name: 'orders',
        permissions: { pub: { allow: [] }, sub: { allow: ['users.orders.>'] } },
      };
      const app = await startCalloutApp({
        nats: { callout: callout({ authorizer: DecidedAuthorizer }) },
      } as JwtIssuerModuleOptions);
      try {
        const start = server.log().length;
        const outcome = await attempt({ token: 'custom' }, TEAM_PROBES);
        expect(
          outcome.admitted
            ? `admitted: published on ${[...outcome.reach.published].join(', ')}`
            : outcome.error,
        ).toMatch(/Authorization Violation/i);
        await logFrom(start, /permissions\.pub\.allow: must not be empty/);
      } finally {
        await app.close();
      }
    });

    it('(8) the password authorizer with a {{tag()}} template: the app does not start, and says which entry', async () => {
      const started = startCalloutApp({
        nats: {
          callout: callout({
            authorizer: 'password',
            users: { orders: 'orders-password' },
            permissions: {
              pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
              sub: { allow: ['users.{{name()}}.>'] },
            },
          }),
        },
      } as JwtIssuerModuleOptions);
      const error = await started.then(
        async (app) => {
          await app.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JwtIssuerConfigError);
      expect((error as Error).message).toMatch(
        /nats\.callout\.permissions\.pub\.allow\[1\].*\{\{tag\(\)\}\}.*'password'/,
      );
    });

    it("(9) emptyAllow 'deny-all': the client connects and can neither publish nor receive anything", async () => {
      const app = await serviceTokenApp(TEAM_TEMPLATE, 'deny-all');
      try {
        const outcome = await attempt(
          { token: await app.serviceToken('orders') },
          TEAM_PROBES,
        );
        expect(outcome.admitted).toBe(true);
        if (outcome.admitted) {
          expect({
            published: [...outcome.reach.published],
            received: [...outcome.reach.received],
          }).toEqual({ published: [], received: [] });
        }
      } finally {
        await app.close();
      }
    });

    it('(10) a service token for another audience is refused; the same subject with the NATS audience connects', async () => {
      const app = await serviceTokenApp({
        pub: { allow: ['users.{{name()}}.>'] },
        sub: { allow: ['users.{{name()}}.>'] },
      });
      try {
        const start = server.log().length;
        const billing = await attempt(
          { token: await app.serviceToken('orders', { aud: 'billing' }) },
          ['users.orders.x'],
        );
        expect(billing.admitted ? 'admitted' : billing.error).toMatch(
          /Authorization Violation/i,
        );
        await logFrom(start, /aud is not one of nats\.callout\.audience/);
        const nats = await attempt(
          { token: await app.serviceToken('orders') },
          ['users.orders.x', 'admin.x'],
        );
        expect(nats.admitted && [...nats.reach.published]).toEqual([
          'users.orders.x',
        ]);
      } finally {
        await app.close();
      }
    });
  });

  describe(`property (${REPLAY})`, () => {
    it('service-token: random templates × random claims are refused, or reach exactly the safe-value expansion', async () => {
      const r = generator(SEED, 1);
      const problems: string[] = [];
      const tally: Tally = { admitted: 0, refused: 0 };
      let cases = 0;
      for (let t = 0; t < SERVICE_TEMPLATES; t++) {
        const template = randomTemplate(r, ALLOW_POOL, DENY_POOL);
        const emptyAllow = r.chance(0.25) ? ('deny-all' as const) : undefined;
        const app = await serviceTokenApp(template, emptyAllow);
        try {
          for (let c = 0; c < CLAIM_SETS; c++) {
            const { sub, claims } = randomClaims(r);
            const token = await app.serviceToken(sub as string, claims);
            const expected = expectTemplate(
              template,
              sub,
              claims,
              ['team', 'role'],
              emptyAllow ?? 'refuse-connection',
              true,
            );
            const literals = probesFor(expected.own);
            const label = `service-token #${t}.${c} template ${show(template)}${emptyAllow ? ' emptyAllow deny-all' : ''}, claims ${show({ sub, ...claims })}`;
            problems.push(
              ...judge(
                label,
                expected,
                literals,
                await attempt({ token }, literals),
                tally,
              ),
            );
            cases++;
          }
        } finally {
          await app.close();
        }
      }
      expect(verdict(problems)).toBe('none');
      expect(cases).toBe(SERVICE_TEMPLATES * CLAIM_SETS);
      // Both outcomes met: a property that only ever saw refusals would prove nothing.
      expect(tally.admitted, REPLAY).toBeGreaterThan(0);
      expect(tally.refused, REPLAY).toBeGreaterThan(0);
    }, 60_000);

    it('password: random users and templates; a {{tag()}} template stops the app, others are refused or reach exactly the safe-value expansion', async () => {
      const r = generator(SEED, 2);
      const problems: string[] = [];
      const tally: Tally = { admitted: 0, refused: 0 };
      let startRefusals = 0;
      for (let t = 0; t < PASSWORD_TEMPLATES; t++) {
        // The first template has a {{tag()}} entry, the second none, the rest as the seed says.
        const withTag = t === 0 || (t > 1 && r.chance(0.35));
        const template = randomTemplate(
          r,
          PASSWORD_ALLOW_POOL,
          PASSWORD_DENY_POOL,
        );
        if (withTag) {
          const list = r.pick(['allow', 'deny'] as const);
          const direction = template[r.pick(['pub', 'sub'] as const)] as {
            allow?: string[];
            deny?: string[];
          };
          direction[list] = [
            ...(direction[list] ?? []),
            list === 'allow'
              ? 'teams.{{tag(team)}}.>'
              : 'teams.{{tag(team)}}.secret',
          ];
        }
        const emptyAllow = r.chance(0.25) ? ('deny-all' as const) : undefined;
        const names = r.some(PASSWORD_NAMES, 3, 3);
        const users = Object.fromEntries(
          names.map((n, i) => [n, `password-${t}-${i}`]),
        );
        const label = `password #${t} template ${show(template)}${emptyAllow ? ' emptyAllow deny-all' : ''}`;
        let app: CalloutApp | undefined;
        try {
          app = await startCalloutApp({
            nats: {
              callout: callout({
                authorizer: 'password',
                users,
                permissions: template,
                ...fixOptions({ emptyAllow }),
              }),
            },
          } as JwtIssuerModuleOptions);
        } catch (e) {
          if (!withTag) {
            problems.push(`${label}: the app did not start: ${String(e)}`);
          } else if (
            !(e instanceof JwtIssuerConfigError) ||
            !/nats\.callout\.permissions\.(pub|sub)\.(allow|deny)\[\d+\].*\{\{tag\(\)\}\}/.test(
              e.message,
            )
          ) {
            problems.push(
              `${label}: the app did not start, but not for its {{tag()}} entry: ${String(e)}`,
            );
          } else {
            startRefusals++;
          }
          continue;
        }
        try {
          if (withTag)
            problems.push(
              `${label}: the app started with a {{tag()}} template`,
            );
          for (const [i, name] of names.entries()) {
            const expected = expectTemplate(
              template,
              name,
              {},
              [],
              emptyAllow ?? 'refuse-connection',
              false,
            );
            const literals = probesFor(expected.own);
            problems.push(
              ...judge(
                `${label}, user ${show(name)}`,
                expected,
                literals,
                await attempt({ user: name, pass: users[name] }, literals),
                tally,
              ),
            );
            if (i === 0) {
              const wrong = await attempt({ user: name, pass: 'wrong' }, []);
              if (wrong.admitted)
                problems.push(
                  `${label}: ${show(name)} admitted with a wrong password`,
                );
            }
          }
        } finally {
          await app.close();
        }
      }
      expect(verdict(problems)).toBe('none');
      // Templates with and without {{tag()}} were both met, and both outcomes: a property that only ever saw
      // refusals would prove nothing.
      expect(startRefusals, REPLAY).toBeGreaterThan(0);
      expect(startRefusals, REPLAY).toBeLessThan(PASSWORD_TEMPLATES);
      expect(tally.admitted, REPLAY).toBeGreaterThan(0);
      expect(tally.refused, REPLAY).toBeGreaterThan(0);
    }, 60_000);

    it('custom authorizer: random concrete decisions (allow: [], deny: [], missing lists) are refused or reach exactly the decided lists', async () => {
      const r = generator(SEED, 3);
      const problems: string[] = [];
      const tally: Tally = { admitted: 0, refused: 0 };
      const app = await startCalloutApp({
        nats: { callout: callout({ authorizer: DecidedAuthorizer }) },
      } as JwtIssuerModuleOptions);
      const kinds = new Set<string>();
      try {
        for (let i = 0; i < CUSTOM_DECISIONS; i++) {
          const { permissions, kind } = randomDecision(r, DECISION_KINDS[i]);
          kind.forEach((k) => kinds.add(k));
          decision = {
            allow: true,
            name: 'orders',
            tags: ['team:blue'],
            permissions,
          };
          const expected = expectDecision(decision, {
            users: ['orders'],
            teams: ['blue'],
          });
          const literals = probesFor(expected.own);
          problems.push(
            ...judge(
              `custom #${i} permissions ${show(permissions)}`,
              expected,
              literals,
              await attempt({ token: `custom-${i}` }, literals),
              tally,
            ),
          );
        }
      } finally {
        await app.close();
      }
      expect(verdict(problems)).toBe('none');
      expect([...kinds].toSorted(), REPLAY).toEqual(
        [...DECISION_KINDS].toSorted(),
      );
      // Both outcomes met: a property that only ever saw refusals would prove nothing.
      expect(tally.admitted, REPLAY).toBeGreaterThan(0);
      expect(tally.refused, REPLAY).toBeGreaterThan(0);
    }, 60_000);
  });
});
