import { isUtf8 } from 'node:buffer';
import {
  type CliCommand,
  print,
  readTokenInput,
  Refusal,
} from '../cli-support.js';

/** What `inspect` tells a token is, from its header and claims (never from a verification). */
export type TokenKind =
  | 'NATS user JWT'
  | 'NATS account JWT'
  | 'NATS operator JWT'
  | 'service token'
  | 'Seald SDK token'
  | 'Vonage Client SDK token'
  | 'JWT';

const MALFORMED = 'ERR_JWT_ISSUER_TOKEN_MALFORMED';
// Longer input is no token this module deals with (the verifier's default limit is 8 KiB).
const MAX_TOKEN_CHARS = 65_536;

function segment(text: string, what: string): Record<string, unknown> {
  const bytes = Buffer.from(text, 'base64url');
  if (!isUtf8(bytes))
    throw new Refusal(`not a JWT: the ${what} is not UTF-8`, MALFORMED);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Refusal(
      `not a JWT: the ${what} is not JSON (a truncated or mangled token?)`,
      MALFORMED,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Refusal(`not a JWT: the ${what} is not a JSON object`, MALFORMED);
  }
  return value as Record<string, unknown>;
}

/** Decodes a compact JWT without verifying it: header, claims and the signature's length. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signatureBytes: number;
} {
  if (token.length > MAX_TOKEN_CHARS) {
    throw new Refusal(
      'not a JWT: longer than 64 KiB',
      'ERR_JWT_ISSUER_TOKEN_TOO_LARGE',
    );
  }
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
    throw new Refusal(
      'not a JWT: a compact JWT is three base64url segments separated by two dots',
      MALFORMED,
    );
  }
  const [h, p, s] = token.split('.');
  return {
    header: segment(h, 'header'),
    claims: segment(p, 'payload'),
    signatureBytes: Buffer.from(s, 'base64url').length,
  };
}

/** The kind of a decoded token. */
export function tokenKind(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): TokenKind {
  const nats = claims.nats as { type?: unknown } | undefined;
  if (
    (header.alg === 'ed25519-nkey' || header.alg === 'ed25519') &&
    typeof nats === 'object' &&
    nats !== null
  ) {
    if (nats.type === 'user') return 'NATS user JWT';
    if (nats.type === 'account') return 'NATS account JWT';
    if (nats.type === 'operator') return 'NATS operator JWT';
  }
  if (claims.source === 'microservice') return 'service token';
  if (typeof claims.application_id === 'string')
    return 'Vonage Client SDK token';
  if (
    header.alg === 'HS256' &&
    ['scopes', 'join_team', 'recipients', 'connector_add', 'owner'].some((c) =>
      Object.hasOwn(claims, c),
    )
  ) {
    return 'Seald SDK token';
  }
  return 'JWT';
}

// Signature lengths fixed by the algorithm: a shorter one is a token cut short.
const SIGNATURE_BYTES: Readonly<Record<string, number>> = {
  ES256: 64,
  EdDSA: 64,
  'ed25519-nkey': 64,
  ed25519: 64,
  HS256: 32,
};

/** "in 59 min 58 s", "3 min ago": a span in words. */
function span(seconds: number): string {
  const s = Math.abs(seconds);
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m && !d) parts.push(`${m} min`);
  if ((r || parts.length === 0) && !d && !h) parts.push(`${r} s`);
  return parts.join(' ');
}

/** Each time claim as a date, with how far it is from now. */
function times(
  claims: Record<string, unknown>,
  now: number,
): Record<string, { date: string; relative: string }> {
  const out: Record<string, { date: string; relative: string }> = {};
  for (const name of ['iat', 'nbf', 'exp']) {
    const v = claims[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 8.64e12)
      continue;
    const delta = Math.round(v - now);
    const date = new Date(v * 1000).toISOString();
    const relative =
      name === 'exp'
        ? delta > 0
          ? `expires in ${span(delta)}`
          : `expired ${span(delta)} ago`
        : name === 'nbf'
          ? delta > 0
            ? `not valid for another ${span(delta)}`
            : `usable since ${span(delta)}`
          : delta > 0
            ? `issued ${span(delta)} in the future`
            : `issued ${span(delta)} ago`;
    out[name] = { date, relative };
  }
  if (!('exp' in claims)) out.exp = { date: '-', relative: 'never expires' };
  return out;
}

/** `inspect`: decodes a token and tells what it is; never calls it valid. */
export const inspect: CliCommand = {
  words: ['inspect'],
  summary:
    'tells what a token is (NATS user/account/operator JWT, service token, Seald, Vonage, other JWT) and shows its header and claims; it does not verify',
  usage: 'inspect [TOKEN | -]',
  optionHelp: [
    [
      'TOKEN',
      'the token; - or no argument reads it from standard input (a .creds file works too: its JWT is read, never its seed; so does a JSON answer with a token or jwt member)',
    ],
  ],
  examples: [
    'nest-jwt-issuer inspect eyJhbGciOi...',
    'nest-jwt-issuer inspect - < alice.creds',
    'curl -s -X POST localhost:3000/vonage/tokens -H "content-type: application/json" -d \'{"user":"jamie"}\' | nest-jwt-issuer inspect',
    'nest-jwt-issuer token service --key k.pem --iss http://127.0.0.1:3000 --sub alice | nest-jwt-issuer inspect --json',
  ],
  options: {},
  positionals: 1,
  async run(values, positionals, io) {
    const token = await readTokenInput(positionals, io);
    const { header, claims, signatureBytes } = decodeJwt(token);
    const kind = tokenKind(header, claims);
    const when = times(claims, Date.now() / 1000);
    const warnings: string[] = [];
    const expected =
      typeof header.alg === 'string' ? SIGNATURE_BYTES[header.alg] : undefined;
    if (signatureBytes === 0) {
      warnings.push('the token has no signature (unsecured JWT)');
    } else if (expected !== undefined && signatureBytes !== expected) {
      warnings.push(
        `the signature is ${signatureBytes} bytes; ${String(header.alg)} signatures are ${expected}: the token looks truncated`,
      );
    }
    print(
      io,
      values.json === true,
      { kind, header, claims, times: when, warnings, verified: false },
      () =>
        [
          `kind:    ${kind}`,
          `header:  ${JSON.stringify(header)}`,
          'claims:',
          ...JSON.stringify(claims, null, 2)
            .split('\n')
            .map((l) => `  ${l}`),
          ...Object.entries(when).map(([name, t]) =>
            `${name}:     ${t.date} (${t.relative})`.replace(
              /^(\w{3}):\s+/,
              '$1:     ',
            ),
          ),
          '',
        ].join('\n'),
    );
    for (const w of warnings) io.err(`warning: ${w}\n`);
    io.err(
      'Not verified: inspect only decodes. Check the signature with nest-jwt-issuer verify --jwks URL|FILE.\n',
    );
    return 0;
  },
};
