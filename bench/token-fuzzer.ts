import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtVerifier,
  type VerificationKey,
} from '../lib/index.js';

/** Options of {@link runTokenFuzz}. */
export interface TokenFuzzOptions {
  /** Seed of the pseudo-random generator: the same seed and count replay the same mutations. */
  seed: number;
  /** Number of mutated tokens to try. */
  iterations: number;
}

/** What one fuzz run did. */
export interface TokenFuzzReport {
  seed: number;
  iterations: number;
  /** Mutated tokens accepted (each one the exact string of a token signed by a trusted key). */
  accepted: number;
  /** Mutations that re-signed their bytes with the real key (JSON quirks), so that the claims checks are reached. */
  signed: number;
  /** Refusals by error code. */
  refused: Record<string, number>;
  /** Tokens tried per mutation kind. */
  kinds: Record<string, number>;
  ms: number;
}

type Alg = 'RS256' | 'ES256' | 'EdDSA';
const ALGS: readonly Alg[] = ['RS256', 'ES256', 'EdDSA'];
const ISS = 'https://orders.internal';
const ALPHABET =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const EDGES = [
  'A',
  'Z',
  'a',
  'z',
  '0',
  '9',
  '-',
  '_',
  '+',
  '/',
  '=',
  '.',
  ' ',
  '\t',
  '\n',
  '\r',
  '\0',
  '\\',
  '"',
  '%',
  '~',
  '\u007f',
  '\u0080',
  '\u00ff',
  '\u0100',
  '\u0141',
  '\u2028',
  '\ufeff',
  '\uff0e',
  '\uff21',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
];
const CODES = new Set<string>(Object.values(JwtIssuerErrorCode));

/** Deterministic 32-bit generator (mulberry32): reproducible from its seed, on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const replaceAt = (t: string, at: number, s: string): string =>
  t.slice(0, at) + s + t.slice(at + 1);

const b64 = (text: string | Buffer): string =>
  Buffer.from(text).toString('base64url');

/** Thrown when the verifier breaks an invariant: names the seed and iteration that replay it. */
export class TokenFuzzFailure extends Error {
  override readonly name = 'TokenFuzzFailure';
}

/**
 * The project's mutation fuzzer for {@link JwtVerifier}: mutates valid RS256, ES256 and EdDSA tokens (bit flips,
 * alphabet edges, characters outside ASCII, inserted, deleted and swapped characters, segment swaps and
 * duplications, splices of other tokens, non-canonical base64url, JSON quirks such as duplicate keys, `__proto__`,
 * huge numbers, deep nesting, a BOM, whitespace and invalid UTF-8, some re-signed with the real key) and checks on
 * every token that
 * - nothing is accepted but the exact string of a token signed by the trusted key, and what is accepted is its
 *   claims (with `iss` trusted, `exp` in the future, `source` exact, plain prototypes);
 * - nothing is thrown but a `JwtIssuerError` with a known code;
 * - `Object.prototype` is never touched.
 *
 * @throws {TokenFuzzFailure} at the first broken invariant, naming the seed, iteration and mutation.
 */
export function runTokenFuzz(options: TokenFuzzOptions): TokenFuzzReport {
  const started = performance.now();
  const rnd = seededRandom(options.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];

  const keys = {} as Record<Alg, KeyObject>;
  const entries = new Map<string, VerificationKey>();
  for (const alg of ALGS) {
    // Keys come from node:crypto's generator (not from the seed): the mutations, not the keys, are replayed.
    const pair =
      alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : alg === 'ES256'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('ed25519');
    keys[alg] = pair.privateKey;
    entries.set(`k-${alg}`, {
      kid: `k-${alg}`,
      alg,
      key: pair.publicKey,
      active: true,
    });
  }
  const verifier = new JwtVerifier({
    sources: [{ issuer: ISS, get: (kid) => entries.get(kid) }],
    audience: ['billing'],
    requiredClaims: { source: 'microservice' },
    // Room for deeply nested payloads (the default, 8 KiB, would stop them at the door).
    maxTokenBytes: 1 << 20,
    cacheSize: 64,
  });

  // Every string signed with a trusted key, with the payload JSON it carries.
  const signedPayloads = new Map<string, string>();
  const signText = (alg: Alg, header: string, payload: string | Buffer) => {
    const input = `${b64(header)}.${b64(payload)}`;
    const data = Buffer.from(input);
    const signature =
      alg === 'RS256'
        ? sign('sha256', data, keys[alg])
        : alg === 'ES256'
          ? sign('sha256', data, { key: keys[alg], dsaEncoding: 'ieee-p1363' })
          : sign(null, data, keys[alg]);
    const token = `${input}.${signature.toString('base64url')}`;
    signedPayloads.set(token, Buffer.from(payload).toString('utf8'));
    return token;
  };
  const now = Math.floor(Date.now() / 1000);
  const claims = (n: number) => ({
    source: 'microservice',
    iss: ISS,
    sub: 'orders',
    aud: 'billing',
    iat: now,
    exp: now + 3600,
    jti: `fuzz-${n}`,
    scope: 'invoices:read stock:read',
  });
  const header = (alg: Alg) => ({ alg, typ: 'JWT', kid: `k-${alg}` });
  const genuine = ALGS.flatMap((alg) =>
    [0, 1, 2].map((n) =>
      signText(alg, JSON.stringify(header(alg)), JSON.stringify(claims(n))),
    ),
  );
  // Cached (a token is admitted on its second sight): a mutation must never hit their entries.
  for (const t of genuine) {
    verifier.verifySync(t);
    verifier.verifySync(t);
  }
  if (verifier.cachedTokens !== genuine.length) {
    throw new Error('fuzzer set-up: the genuine tokens are not all cached');
  }

  const charAt = (t: string) => int(t.length);
  // Each mutation returns the token to try; JSON quirks that re-sign go through signText (then they are signed bytes).
  const stringMutations: Record<string, (t: string) => string> = {
    'bit flip': (t) => {
      const at = charAt(t);
      return replaceAt(
        t,
        at,
        String.fromCharCode(t.charCodeAt(at) ^ (1 << int(16))),
      );
    },
    'low bit flip': (t) => {
      const at = charAt(t);
      return replaceAt(
        t,
        at,
        String.fromCharCode(t.charCodeAt(at) ^ (1 << int(7))),
      );
    },
    'alphabet edge': (t) => replaceAt(t, charAt(t), pick(EDGES)),
    'other base64url char': (t) => replaceAt(t, charAt(t), pick([...ALPHABET])),
    'non-ASCII twin': (t) => {
      const at = charAt(t);
      const c = t.charCodeAt(at);
      return replaceAt(
        t,
        at,
        String.fromCharCode(pick([0x100, 0xff00, 0x4100, 0xd800]) | c),
      );
    },
    'case flip': (t) => {
      const at = charAt(t);
      const c = t[at];
      return replaceAt(
        t,
        at,
        c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase(),
      );
    },
    insert: (t) => {
      const at = int(t.length + 1);
      return t.slice(0, at) + pick([...EDGES, ...ALPHABET]) + t.slice(at);
    },
    delete: (t) => {
      const at = charAt(t);
      return t.slice(0, at) + t.slice(at + 1);
    },
    truncate: (t) => t.slice(0, int(t.length)),
    append: (t) =>
      t + pick(['A', 'AA', 'AAA', 'AAAA', '=', '==', '.', '.AAAA']),
    'wrap in whitespace or BOM': (t) =>
      pick(['', ' ', '\ufeff', '\t', '\n']) +
      t +
      pick(['', ' ', '\n', '\r\n', '\0']),
    'standard base64 alphabet': (t) =>
      t.replaceAll('-', '+').replaceAll('_', '/'),
    padding: (t) => {
      const parts = t.split('.');
      const i = int(parts.length);
      parts[i] += '='.repeat(1 + int(2));
      return parts.join('.');
    },
    'non-canonical last character': (t) => {
      const parts = t.split('.');
      const i = int(parts.length);
      const seg = parts[i];
      const rest = seg.length & 3;
      if (rest === 0 || seg === '') return `${t}A`;
      const last = ALPHABET.indexOf(seg.at(-1)!);
      const unused = rest === 2 ? 0x0f : 0x03;
      parts[i] = seg.slice(0, -1) + ALPHABET[last | (1 + int(unused))];
      return parts.join('.');
    },
    'segment swap': (t) => {
      const [h = '', p = '', s = ''] = t.split('.');
      return pick([
        `${p}.${h}.${s}`,
        `${h}.${s}.${p}`,
        `${s}.${p}.${h}`,
        `${h}.${h}.${s}`,
        `${h}.${p}.${p}`,
        `${h}.${p}.${h}`,
        `${p}.${p}.${s}`,
        `${h}.${p}.${s}.${s}`,
        `${h}.${h}.${p}.${s}`,
        `${h}.${s}`,
        `${h}..${s}`,
        `.${p}.${s}`,
        `${h}.${p}.`,
      ]);
    },
    'splice another token': (t) => {
      const [h = '', p = '', s = ''] = t.split('.');
      const [h2, p2, s2] = pick(genuine).split('.');
      return pick([
        `${h2}.${p}.${s}`,
        `${h}.${p2}.${s}`,
        `${h}.${p}.${s2}`,
        `${h}.${p2}.${s2}`,
      ]);
    },
  };
  const quirks: Record<string, (alg: Alg, n: number) => [string, string]> = {
    'duplicate key': (alg, n) => {
      const c = JSON.stringify(claims(n)).slice(0, -1);
      return pick<[string, string]>([
        [JSON.stringify(header(alg)), `${c},"iss":"https://evil.test"}`],
        [
          JSON.stringify(header(alg)),
          `{"iss":"https://evil.test",${c.slice(1)}}`,
        ],
        [JSON.stringify(header(alg)), `${c},"exp":${now - 3600}}`],
        [JSON.stringify(header(alg)), `${c},"source":"user"}`],
        [`{"alg":"none",${JSON.stringify(header(alg)).slice(1)}`, `${c}}`],
        [`${JSON.stringify(header(alg)).slice(0, -1)},"alg":"HS256"}`, `${c}}`],
        [
          `${JSON.stringify(header(alg)).slice(0, -1)},"kid":"k-none"}`,
          `${c}}`,
        ],
      ]);
    },
    'proto key': (alg, n) => {
      const { source, ...rest } = claims(n);
      void source;
      const r = JSON.stringify(rest).slice(0, -1);
      return [
        JSON.stringify(header(alg)),
        pick([
          `${r},"__proto__":{"source":"microservice"}}`,
          `${r},"source":"microservice","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}`,
          `${r},"source":"microservice","__proto__":null}`,
        ]),
      ];
    },
    'huge or odd number': (alg, n) => {
      const value = pick([
        '1e400',
        '-1e400',
        '1e308',
        '9007199254740993',
        '-0',
        '0',
        '1.5',
        '1e-400',
        '"9999999999"',
        'null',
        'true',
        '[]',
        '{}',
        `${now + 60}${'0'.repeat(int(400))}`,
      ]);
      const field = pick(['exp', 'nbf', 'iat']);
      const c = JSON.stringify({ ...claims(n), [field]: 0 }).replace(
        `"${field}":0`,
        `"${field}":${value}`,
      );
      return [JSON.stringify(header(alg)), c];
    },
    'deep nesting': (alg, n) => {
      const depth = pick([100, 1_000, 10_000, 100_000]);
      const open = pick(['[', '{"a":']);
      const close = open === '[' ? ']' : '}';
      const c = JSON.stringify(claims(n)).slice(0, -1);
      return [
        JSON.stringify(header(alg)),
        `${c},"deep":${open.repeat(depth)}1${close.repeat(depth)}}`,
      ];
    },
    'BOM or whitespace': (alg, n) => [
      pick(['', ' ', '\ufeff']) +
        JSON.stringify(header(alg)) +
        pick(['', ' ', '\n']),
      pick(['', ' \t\r\n', '\ufeff']) +
        JSON.stringify(claims(n), null, pick([0, 1, 2])) +
        pick(['', ' ', '\n']),
    ],
    'not an object': (alg) => [
      JSON.stringify(header(alg)),
      pick(['[]', '"x"', 'null', '1', 'true', '', '{', '{"a":1}x', 'NaN']),
    ],
    'odd aud or iss': (alg, n) => [
      JSON.stringify(header(alg)),
      JSON.stringify({
        ...claims(n),
        ...pick([
          { aud: ['billing', 1, null] },
          { aud: [{ toString: 'billing' }] },
          { aud: Array.from({ length: 1000 }, (_, i) => `a${i}`) },
          { aud: null },
          { iss: [ISS] },
          { iss: `${ISS}\u0000` },
          { iss: ISS.toUpperCase() },
          { source: ['microservice'] },
        ]),
      }),
    ],
  };
  const invalidUtf8 = (alg: Alg, n: number): [string, Buffer] => {
    const c = Buffer.from(JSON.stringify(claims(n)));
    const at = c.indexOf('orders') + 1;
    c[at] = pick([0x80, 0xc0, 0xff, 0xed]);
    return [JSON.stringify(header(alg)), c];
  };

  const report: TokenFuzzReport = {
    seed: options.seed,
    iterations: options.iterations,
    accepted: 0,
    signed: 0,
    refused: {},
    kinds: {},
    ms: 0,
  };
  const stringNames = Object.keys(stringMutations);
  const quirkNames = Object.keys(quirks);
  for (let i = 0; i < options.iterations; i++) {
    let kind: string;
    let token: string;
    // One token in 16 re-signs JSON quirks with the real key; RS256 rarely (its signing is slow).
    if (int(16) === 0) {
      const alg: Alg = int(8) === 0 ? 'RS256' : pick(['ES256', 'EdDSA']);
      if (int(8) === 0) {
        kind = 'invalid UTF-8 (signed)';
        const [h, p] = invalidUtf8(alg, i);
        token = signText(alg, h, p);
      } else {
        const name = pick(quirkNames);
        kind = `${name} (signed)`;
        const [h, p] = quirks[name](alg, i);
        token = signText(alg, h, p);
      }
      report.signed++;
      // Half the time, the quirk's bytes under a genuine signature.
      if (int(2) === 0) {
        kind = kind.replace('(signed)', '(old signature)');
        const base = pick(genuine);
        token = `${token.slice(0, token.lastIndexOf('.'))}.${base.slice(base.lastIndexOf('.') + 1)}`;
      }
    } else {
      token = pick(genuine);
      const rounds = 1 + (int(4) === 0 ? int(3) : 0);
      const names: string[] = [];
      for (let r = 0; r < rounds; r++) {
        const name = pick(stringNames);
        names.push(name);
        // A mutation that emptied the token hands the next one a lone dot.
        token = stringMutations[name](token === '' ? '.' : token);
      }
      kind = names.join(' + ');
    }
    report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
    const where = () =>
      `seed ${options.seed}, iteration ${i}, ${kind}: ${JSON.stringify(token.length > 300 ? `${token.slice(0, 150)}…${token.slice(-150)}` : token)}`;
    let result: unknown;
    try {
      result = verifier.verifySync(token);
    } catch (e) {
      if (!(e instanceof JwtIssuerError) || !CODES.has(e.code)) {
        throw new TokenFuzzFailure(
          `threw ${(e as Error)?.name}: ${(e as Error)?.message} (${where()})`,
        );
      }
      report.refused[e.code] = (report.refused[e.code] ?? 0) + 1;
      continue;
    }
    const payload = signedPayloads.get(token);
    if (payload === undefined) {
      throw new TokenFuzzFailure(
        `accepted a token that no trusted key signed (${where()})`,
      );
    }
    const c = result as Record<string, unknown>;
    const signedClaims = JSON.parse(payload) as Record<string, unknown>;
    const same = (name: string) =>
      typeof signedClaims[name] === 'object'
        ? typeof c[name] === 'object'
        : Object.is(c[name], signedClaims[name]);
    if (
      Object.keys(c).join() !== Object.keys(signedClaims).join() ||
      !Object.keys(c).every(same) ||
      Object.getPrototypeOf(c) !== Object.prototype ||
      c.iss !== ISS ||
      c.source !== 'microservice' ||
      typeof c.exp !== 'number' ||
      !(c.exp * 1000 > Date.now() - 5000)
    ) {
      throw new TokenFuzzFailure(
        `accepted claims that do not hold (${where()})`,
      );
    }
    report.accepted++;
  }
  const probe = {} as Record<string, unknown>;
  if (probe.admin !== undefined || probe.source !== undefined) {
    throw new TokenFuzzFailure(
      `Object.prototype was polluted (seed ${options.seed})`,
    );
  }
  for (const t of genuine) {
    if ((verifier.verifySync(t) as { iss?: unknown }).iss !== ISS) {
      throw new TokenFuzzFailure('a genuine token is no longer accepted');
    }
  }
  report.ms = performance.now() - started;
  return report;
}
