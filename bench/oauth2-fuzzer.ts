import { FetchProblem } from '../lib/service-token/http/bounded-fetch.js';
import {
  type DiscoveredEndpoint,
  parseDiscoveryDocument,
} from '../lib/service-token/http/oidc-discovery.js';
import { isFetchableUrl } from '../lib/service-token/http/urls.js';
import { seededRandom } from './token-fuzzer.js';
import {
  MAX_ACCESS_TOKEN_CHARS,
  parseTokenResponse,
} from '../lib/service-token/outgoing/oauth2/oauth2-token-client.js';

/** Options of {@link runOAuth2ParserFuzz}. */
export interface OAuth2ParserFuzzOptions {
  seed: number;
  iterations: number;
}

/** What a run did. */
export interface OAuth2ParserFuzzReport {
  /** Documents accepted by each parser (their output checked). */
  accepted: { discovery: number; token: number };
  /** Refusals by message (numbers and quoted values folded), to see which checks the run reached. */
  refused: Record<string, number>;
  /** Mutations that were not JSON any more (refused before the parsers, as `fetchJsonBounded` does). */
  notJson: number;
  ms: number;
}

/** Thrown when a parser breaks an invariant: names the seed and iteration that replay it. */
export class OAuth2ParserFuzzFailure extends Error {
  override readonly name = 'OAuth2ParserFuzzFailure';
}

const ISSUER = 'https://idp.test/realms/internal';
const ACCESS_TOKEN = /^[\x21-\x7e]+$/;
const STRINGS = [
  '',
  ' ',
  'Bearer',
  'bearer',
  'BEARER',
  'DPoP',
  'N_A',
  'mac',
  ISSUER,
  `${ISSUER}/`,
  'HTTPS://IDP.TEST/realms/internal',
  'https://idp.test/realms/internal\u0000',
  'https://idp.test.evil.com/realms/internal',
  'https://idp.test/jwks',
  'http://idp.test/jwks',
  'http://127.0.0.1:1/jwks',
  'http://localhost/token',
  'https://user:pw@idp.test/token',
  'https://idp.test/token#frag',
  'javascript:alert(1)',
  'file:///etc/passwd',
  '//idp.test/token',
  '/token',
  'eyJhbGciOiJSUzI1NiJ9.e30.sig',
  'abc\r\nX-Injected: 1',
  'abc def',
  'tok\u0080en',
  'tok\u2028en',
  '\ud800',
  '3600',
  '-1',
  '1e3',
  '0x10',
  '007',
  ' 60',
  '99999999999',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  59,
  60,
  3600,
  1.5,
  2 ** 31,
  2 ** 53,
  31_622_400,
  31_622_401,
  1e21,
];

/**
 * A seeded mutation fuzzer for the two new parsers of untrusted documents: the OpenID Connect discovery document
 * ({@link parseDiscoveryDocument}) and the token endpoint's answer ({@link parseTokenResponse}). Mutates valid
 * documents at the value level (members replaced by strings at the edges: other issuers, other schemes,
 * credentials, fragments, control characters, CRLF, lone surrogates; numbers at the edges; arrays, objects, null,
 * booleans; members deleted or added, `__proto__`, `constructor`) and at the text level (bytes flipped, inserted,
 * deleted, truncated, duplicate keys, deep nesting, a BOM), and checks on every document that
 * - nothing is thrown but a {@link FetchProblem};
 * - what is accepted holds: the discovered endpoint is the document's own member, a fetchable URL (https, or http
 *   to loopback) without credentials or fragment, and the document's `issuer` is exactly the configured one; the
 *   access token is visible ASCII of at most {@link MAX_ACCESS_TOKEN_CHARS}, `token_type` Bearer, the lifetime a
 *   positive integer;
 * - `Object.prototype` is never touched.
 *
 * @throws {OAuth2ParserFuzzFailure} at the first broken invariant.
 */
export function runOAuth2ParserFuzz(
  options: OAuth2ParserFuzzOptions,
): OAuth2ParserFuzzReport {
  const started = performance.now();
  const rnd = seededRandom(options.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const report: OAuth2ParserFuzzReport = {
    accepted: { discovery: 0, token: 0 },
    refused: {},
    notJson: 0,
    ms: 0,
  };

  const value = (depth = 0): unknown => {
    switch (int(depth > 2 ? 4 : 7)) {
      case 0:
        return pick(STRINGS);
      case 1:
        return pick(NUMBERS);
      case 2:
        return pick([null, true, false]);
      case 3:
        return `${pick(STRINGS)}${pick(STRINGS)}`.repeat(1 + int(3));
      case 4:
        return [value(depth + 1), value(depth + 1)];
      case 5:
        return { [pick(['issuer', 'jwks_uri', 'x'])]: value(depth + 1) };
      default:
        return 'x'.repeat(pick([1, 100, MAX_ACCESS_TOKEN_CHARS, 20_000]));
    }
  };

  const mutateText = (text: string): string => {
    let t = text;
    for (let n = 1 + int(3); n > 0; n--) {
      const at = int(t.length + 1);
      switch (int(7)) {
        case 0:
          t = t.slice(0, at) + t.slice(at + 1);
          break;
        case 1:
          t =
            t.slice(0, at) +
            pick(['"', ',', '{', '}', '\\', '\u0000', ':', ' ']) +
            t.slice(at);
          break;
        case 2:
          t = t.slice(0, at);
          break;
        case 3:
          // Duplicate key: JSON.parse keeps the last one.
          t = t.replace(
            /^\{/,
            `{"${pick(['issuer', 'jwks_uri', 'token_endpoint', 'access_token', 'token_type', 'expires_in'])}":${JSON.stringify(value())},`,
          );
          break;
        case 4:
          t = t.replace(/^\{/, '{"__proto__":{"polluted":1},');
          break;
        case 5:
          t = `\ufeff${t}`;
          break;
        default:
          t = `${'['.repeat(int(5000))}${t}`;
      }
    }
    return t;
  };

  const mutate = (doc: Record<string, unknown>): unknown => {
    const d: Record<string, unknown> = { ...doc };
    const keys = [...Object.keys(doc), 'constructor', 'x'];
    for (let n = 1 + int(3); n > 0; n--) {
      const key = pick(keys);
      if (int(5) === 0) delete d[key];
      else d[key] = value();
    }
    const kind = int(10);
    if (kind === 0) return value();
    let text = JSON.stringify(d);
    if (kind < 4) text = mutateText(text);
    try {
      return JSON.parse(text);
    } catch {
      return NOT_JSON;
    }
  };

  const fail = (i: number, what: string, input: unknown): never => {
    throw new OAuth2ParserFuzzFailure(
      `seed ${options.seed}, iteration ${i}: ${what} (input ${JSON.stringify(input)?.slice(0, 300)})`,
    );
  };

  for (let i = 0; i < options.iterations; i++) {
    const endpoint: DiscoveredEndpoint = pick(['jwks_uri', 'token_endpoint']);
    const discovery = mutate({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/protocol/openid-connect/certs`,
      token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
    });
    const token = mutate({
      access_token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'invoices:read',
    });
    for (const [which, input] of [
      ['discovery', discovery],
      ['token', token],
    ] as const) {
      if (input === NOT_JSON) {
        report.notJson++;
        continue;
      }
      try {
        if (which === 'discovery') {
          const url = parseDiscoveryDocument(input, ISSUER, endpoint);
          const doc = input as Record<string, unknown>;
          if (doc.issuer !== ISSUER) fail(i, 'accepted another issuer', input);
          if (url !== doc[endpoint])
            fail(i, 'returned something else than the member', input);
          const u = URL.canParse(url) ? new URL(url) : undefined;
          if (
            !isFetchableUrl(url) ||
            u === undefined ||
            u.username !== '' ||
            u.password !== '' ||
            u.hash !== '' ||
            (u.protocol !== 'https:' &&
              !['127.0.0.1', 'localhost'].includes(u.hostname))
          )
            fail(i, `accepted an unsafe ${endpoint}`, input);
          report.accepted.discovery++;
        } else {
          const r = parseTokenResponse(input);
          const b = input as Record<string, unknown>;
          if (
            r.accessToken !== b.access_token ||
            !ACCESS_TOKEN.test(r.accessToken) ||
            r.accessToken.length > MAX_ACCESS_TOKEN_CHARS
          )
            fail(i, 'accepted an unsafe access_token', input);
          if (String(b.token_type).toLowerCase() !== 'bearer')
            fail(i, 'accepted another token_type', input);
          if (!Number.isInteger(r.expiresIn) || r.expiresIn <= 0)
            fail(i, 'accepted a lifetime that is no positive integer', input);
          report.accepted.token++;
        }
      } catch (e) {
        if (e instanceof OAuth2ParserFuzzFailure) throw e;
        if (!(e instanceof FetchProblem)) {
          fail(
            i,
            `threw ${(e as Error)?.name}: ${(e as Error)?.message}`,
            input,
          );
        }
        const key = `${which}: ${fold((e as Error).message)}`;
        report.refused[key] = (report.refused[key] ?? 0) + 1;
      }
      if (Object.keys(Object.prototype).length > 0 || 'polluted' in {}) {
        fail(i, 'Object.prototype was changed', input);
      }
    }
  }
  report.ms = performance.now() - started;
  return report;
}

const NOT_JSON = Symbol('not JSON');

/** A refusal message with its quoted values and numbers folded, to count refusals by kind. */
function fold(message: string): string {
  return message.replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N');
}
