import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isPlainObject } from '../../common/is-plain-object.js';
import { Scratch } from '../scratch.js';
import type {
  NatsAuthClientInfo,
  NatsAuthClientTls,
  NatsAuthConnectOptions,
  NatsAuthRequest,
  NatsAuthServer,
} from '../interfaces/nats-callout.interface.js';
import { base32Decode, crc16, publicNkeyKind } from '../nkey.js';
import { curvePublicKeyRaw, isSealed, type XkeyBox } from './xkey.js';

/** `aud` of every authorization request. */
export const AUTH_REQUEST_AUDIENCE = 'nats-authorization-request';
/** The header carrying the server's public xkey. */
export const SERVER_XKEY_HEADER = 'Nats-Server-Xkey';

/** Why a request was dropped: `xkey` = its sealing does not match the configuration, `expired` = past its `exp`. */
export type RequestProblemKind = 'invalid' | 'xkey' | 'expired';

/** A request that failed validation: the reason is safe to log (it never quotes the payload). */
export interface RequestProblem {
  kind: RequestProblemKind;
  reason: string;
}

/** What {@link parseAuthRequest} checks the request against. */
export interface RequestExpectations {
  /** The responder's xkey, when the exchange must be encrypted. */
  xkey?: XkeyBox;
  /** `sub` every request must carry: the callout issuer (config mode) or the callout account (operator mode). */
  subject: string;
  /** Requests larger than this (sealed or not) are dropped unread. */
  maxBytes: number;
  /** Unix seconds now. */
  now: number;
}

const SERVER_PREFIX = 13 << 3; // 'N'
// The headers a server writes, compared as their (canonical) base64url: nothing is decoded for them.
const HEADERS = new Set(
  [
    '{"typ":"JWT","alg":"ed25519-nkey"}',
    '{"typ":"JWT","alg":"ed25519"}',
    '{"alg":"ed25519-nkey","typ":"JWT"}',
  ].map((h) => Buffer.from(h).toString('base64url')),
);
// The claims are decoded here, not into a new Buffer each (requests are synchronous to parse).
const claimsScratch = new Scratch(4096);
// Server keys seen (a server's key lives as long as its process): imported once.
const serverKeys = new LRUCache<string, KeyObject>({ max: 256 });

/** A public server nkey (`N…`, 56 characters, valid checksum) as a `node:crypto` key, or `undefined`. */
function serverKey(nkey: unknown): KeyObject | undefined {
  if (typeof nkey !== 'string' || nkey.length !== 56 || nkey[0] !== 'N') {
    return undefined;
  }
  const cached = serverKeys.get(nkey);
  if (cached) return cached;
  const raw = base32Decode(nkey);
  if (!raw || raw.length !== 35 || raw[0] !== SERVER_PREFIX) return undefined;
  // Checksum: re-encode through the account path (same CRC) by swapping the prefix byte.
  if (!checksumOk(nkey, raw)) return undefined;
  const key = createPublicKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: raw.subarray(1, 33).toString('base64url'),
    },
    format: 'jwk',
  });
  serverKeys.set(nkey, key);
  return key;
}

function checksumOk(nkey: string, raw: Buffer): boolean {
  // publicNkeyKind knows O/A/U prefixes only; the CRC is over the 33 bytes whatever the prefix, so check it here.
  return nkey.length === 56 && crc16(raw, 33) === (raw[33] | (raw[34] << 8));
}

function problem(kind: RequestProblemKind, reason: string): RequestProblem {
  return { kind, reason };
}

const MAX_STRING = 8192;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length <= MAX_STRING ? v : undefined;
}

function strList(v: unknown, max = 64): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v
    .slice(0, max)
    .filter(
      (s): s is string => typeof s === 'string' && s.length <= MAX_STRING,
    );
}

function int(v: unknown): number | undefined {
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o)) {
    if ((o as Record<string, unknown>)[k] === undefined)
      delete (o as Record<string, unknown>)[k];
  }
  return o;
}

/**
 * Opens (when sealed), verifies and camel-cases one authorization request. Everything is checked before anything
 * is decided: the size, the xkey sealing against the configuration, the JWT's form and header, the Ed25519
 * signature by `iss`, `iss` a server key equal to `server_id.id`, `aud`, `sub`, type and version, `exp`, a valid
 * user nkey, and the header xkey equal to the signed `server_id.xkey`. Never throws on any input.
 */
export function parseAuthRequest(
  payload: Uint8Array,
  headerXkey: string | undefined,
  expect: RequestExpectations,
): NatsAuthRequest | RequestProblem {
  if (payload.length > expect.maxBytes) {
    return problem(
      'invalid',
      `larger than ${expect.maxBytes} bytes (${payload.length})`,
    );
  }
  const sealed = isSealed(payload);
  const bytes = unseal(payload, sealed, headerXkey, expect.xkey);
  if (isRequestProblem(bytes)) return bytes;
  const jws = decodeJws(bytes);
  if (isRequestProblem(jws)) return jws;
  const bad = signatureProblem(bytes, jws);
  if (bad) return bad;
  const checked = checkClaims(jws.claims, headerXkey, expect);
  if (isRequestProblem(checked)) return checked;
  return authRequest(checked, sealed);
}

/** The JWT's bytes: the payload opened with the xkey, or as it came when the exchange is not encrypted. */
function unseal(
  payload: Uint8Array,
  sealed: boolean,
  headerXkey: string | undefined,
  xkey: XkeyBox | undefined,
): Uint8Array | RequestProblem {
  if (!xkey) {
    return sealed
      ? problem(
          'xkey',
          'the request is encrypted but callout.xkey is not set: give the responder the seed (SX…) of the xkey configured on the server',
        )
      : payload;
  }
  if (!sealed) {
    return problem(
      'xkey',
      'the request is not encrypted but callout.xkey is set: the server has no xkey configured (auth_callout.xkey / the account’s authorization.xkey), or remove callout.xkey',
    );
  }
  if (
    typeof headerXkey !== 'string' ||
    (!xkey.knows(headerXkey) && curvePublicKeyRaw(headerXkey) === undefined)
  ) {
    return problem(
      'xkey',
      `the ${SERVER_XKEY_HEADER} header is missing or not a public xkey`,
    );
  }
  return (
    xkey.open(payload, headerXkey) ??
    problem(
      'xkey',
      `the request does not open with callout.xkey (public ${xkey.publicKey}): the server is configured with another xkey`,
    )
  );
}

/** A compact JWS with a NATS header, split: its claims (decoded, not yet trusted) and where its signature starts. */
interface DecodedJws {
  text: string;
  /** Index of the second dot: the signing input is `text.slice(0, dot2)`. */
  dot2: number;
  claims: Record<string, unknown>;
}

/** The JWT's form (three base64url segments), its header (one a server writes) and its claims (a JSON object). */
function decodeJws(bytes: Uint8Array): DecodedJws | RequestProblem {
  const text = Buffer.from(
    bytes.buffer,
    bytes.byteOffset,
    bytes.byteLength,
  ).toString('latin1');
  const dot1 = text.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : text.indexOf('.', dot1 + 1);
  if (
    dot1 < 1 ||
    dot2 < 0 ||
    text.indexOf('.', dot2 + 1) >= 0 ||
    !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(text)
  ) {
    return problem('invalid', 'not a compact JWT');
  }
  if (!HEADERS.has(text.slice(0, dot1)))
    return problem('invalid', 'not a NATS v2 JWT header');
  let claims: unknown;
  try {
    const segment = text.slice(dot1 + 1, dot2);
    const decoded = claimsScratch.at(segment.length);
    const n = decoded.write(segment, 0, 'base64url');
    claims = JSON.parse(decoded.toString('utf8', 0, n));
  } catch {
    return problem('invalid', 'the claims are not JSON');
  }
  if (!isPlainObject(claims))
    return problem('invalid', 'the claims are not an object');
  return { text, dot2, claims };
}

/** Why the JWS is not signed by the server key its `iss` names, or `undefined` when it is. */
function signatureProblem(
  bytes: Uint8Array,
  { text, dot2, claims }: DecodedJws,
): RequestProblem | undefined {
  const key = serverKey(claims.iss);
  if (!key) return problem('invalid', 'iss is not a server public nkey (N…)');
  const signature = Buffer.from(text.slice(dot2 + 1), 'base64url');
  if (
    signature.length !== 64 ||
    !verify(null, bytes.subarray(0, dot2), key, signature)
  ) {
    return problem('invalid', 'the signature does not verify with iss');
  }
  return undefined;
}

/** The signed claims that make an authorization request, checked. */
interface CheckedClaims {
  /** `iss`: the server's key, equal to `server_id.id`. */
  iss: string;
  nats: Record<string, unknown>;
  serverId: Record<string, unknown>;
  userNkey: string;
  jti: string;
  iat: number;
  exp: number;
}

/**
 * The claims of an authorization request for this responder: `aud`, the NATS type and version, `sub`, `exp` not
 * passed, `server_id.id` the signer, a user nkey, and the header xkey the signed one.
 */
function checkClaims(
  claims: Record<string, unknown>,
  headerXkey: string | undefined,
  expect: RequestExpectations,
): CheckedClaims | RequestProblem {
  const nats = claims.nats;
  if (!isPlainObject(nats)) return problem('invalid', 'no nats claims');
  if (claims.aud !== AUTH_REQUEST_AUDIENCE)
    return problem('invalid', `aud is not ${AUTH_REQUEST_AUDIENCE}`);
  if (nats.type !== 'authorization_request')
    return problem('invalid', 'nats.type is not authorization_request');
  if (nats.version !== 2) return problem('invalid', 'nats.version is not 2');
  if (claims.sub !== expect.subject) {
    return problem(
      'invalid',
      `sub is not ${expect.subject} (another callout issuer or account)`,
    );
  }
  const exp = int(claims.exp);
  if (exp === undefined) return problem('invalid', 'no exp');
  if (exp < expect.now)
    return problem('expired', `expired ${expect.now - exp} s ago`);
  const serverId = nats.server_id;
  if (!isPlainObject(serverId) || serverId.id !== claims.iss) {
    return problem('invalid', 'nats.server_id.id is not iss');
  }
  const userNkey = nats.user_nkey;
  if (typeof userNkey !== 'string' || publicNkeyKind(userNkey) !== 'user') {
    return problem('invalid', 'nats.user_nkey is not a user public nkey (U…)');
  }
  if (expect.xkey && serverId.xkey !== headerXkey) {
    return problem(
      'invalid',
      `the ${SERVER_XKEY_HEADER} header is not the signed nats.server_id.xkey`,
    );
  }
  return {
    iss: claims.iss as string,
    nats,
    serverId,
    userNkey,
    jti: str(claims.jti) ?? '',
    iat: int(claims.iat) ?? expect.now,
    exp,
  };
}

/** The request camel-cased, every field bounded (strings, lists) or left out when it is not what it should be. */
function authRequest(c: CheckedClaims, sealed: boolean): NatsAuthRequest {
  const { nats, serverId: sid } = c;
  const server: NatsAuthServer = {
    name: str(sid.name) ?? '',
    host: str(sid.host) ?? '',
    id: c.iss,
    version: str(sid.version) ?? '',
    cluster: str(sid.cluster),
    tags: strList(sid.tags),
    xkey: str(sid.xkey),
  };
  const ci = isPlainObject(nats.client_info) ? nats.client_info : {};
  const client: NatsAuthClientInfo = {
    host: str(ci.host),
    id: int(ci.id),
    user: str(ci.user),
    name: str(ci.name),
    tags: strList(ci.tags),
    nameTag: str(ci.name_tag),
    kind: str(ci.kind),
    type: str(ci.type),
    nonce: str(ci.nonce),
  };
  const co = isPlainObject(nats.connect_opts) ? nats.connect_opts : {};
  const connectOptions: NatsAuthConnectOptions = {
    jwt: str(co.jwt),
    nkey: str(co.nkey),
    sig: str(co.sig),
    authToken: str(co.auth_token),
    user: str(co.user),
    pass: str(co.pass),
    name: str(co.name),
    lang: str(co.lang),
    version: str(co.version),
    protocol: int(co.protocol),
  };
  return {
    server,
    userNkey: c.userNkey,
    client,
    connectOptions,
    tls: isPlainObject(nats.client_tls)
      ? clientTls(nats.client_tls)
      : undefined,
    requestId: c.jti,
    issuedAt: c.iat,
    expiresAt: c.exp,
    encrypted: sealed,
  };
}

function clientTls(t: Record<string, unknown>): NatsAuthClientTls {
  return {
    version: str(t.version),
    cipher: str(t.cipher),
    certs: strList(t.certs),
    verifiedChains: Array.isArray(t.verified_chains)
      ? t.verified_chains.slice(0, 16).map((c) => strList(c) ?? [])
      : undefined,
  };
}

/** Whether {@link parseAuthRequest} (or one of its steps) returned a problem. */
export function isRequestProblem<T extends object>(
  r: T | RequestProblem,
): r is RequestProblem {
  return 'kind' in r && 'reason' in r;
}

const REDACTED = '[redacted]';
const hide = <T>(v: T | undefined): T | undefined =>
  v === undefined ? undefined : (REDACTED as T);

/**
 * A copy of a request that can be logged: `connectOptions.authToken`, `pass`, `jwt`, `sig`, `client.user` (the raw
 * token with token authentication) and the TLS certificates are replaced by `[redacted]`.
 *
 * @example
 * logger.debug(JSON.stringify(redactNatsAuthRequest(request)));
 */
export function redactNatsAuthRequest(
  request: NatsAuthRequest,
): NatsAuthRequest {
  return {
    ...request,
    client: defined({
      ...request.client,
      user: hide(request.client.user),
    }),
    connectOptions: defined({
      ...request.connectOptions,
      authToken: hide(request.connectOptions.authToken),
      pass: hide(request.connectOptions.pass),
      jwt: hide(request.connectOptions.jwt),
      sig: hide(request.connectOptions.sig),
    }),
    ...(request.tls
      ? { tls: { version: request.tls.version, cipher: request.tls.cipher } }
      : {}),
  };
}
