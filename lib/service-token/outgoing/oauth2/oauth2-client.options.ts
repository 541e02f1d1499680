import type { ConfigProblems } from '../../../config/config-problems.js';
import { httpUrl, isLoopback } from '../../http/urls.js';
import { JwtIssuerError } from '../../../errors.js';
import { InternalDestinations } from '../clients/internal-destinations.js';
import type {
  OAuth2ClientAuthMethod,
  ResolvedOAuth2Client,
  ResolvedOAuth2TokenRequest,
} from './oauth2-client.interface.js';

const KNOWN = [
  'issuer',
  'tokenEndpoint',
  'clientId',
  'clientSecret',
  'clientAuth',
  'scope',
  'resource',
  'audience',
  'destinations',
  'timeout',
  'allowHttp',
];
const DESTINATION_KEYS = ['url', 'scope', 'resource', 'audience'];
const METHODS: readonly OAuth2ClientAuthMethod[] = [
  'client_secret_basic',
  'private_key_jwt',
];
// RFC 6749 3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const P = 'service.oauth2';

/** The token request part of an object (top level or a destination), or `undefined` after recording problems. */
function tokenRequest(
  o: Record<string, unknown>,
  at: string,
  problems: ConfigProblems,
): ResolvedOAuth2TokenRequest | undefined {
  let ok = true;
  const strings = (key: string): string[] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    const list = typeof v === 'string' ? v.split(/[ ,]+/) : v;
    if (
      !Array.isArray(list) ||
      list.some((x) => typeof x !== 'string' || x === '')
    ) {
      problems.add(`${at}.${key}`, 'must be a string or a list of strings');
      ok = false;
      return undefined;
    }
    return list as string[];
  };
  const scopes = strings('scope')?.filter((s) => s !== '');
  if (scopes?.some((s) => !SCOPE_TOKEN.test(s))) {
    problems.add(
      `${at}.scope`,
      'each scope must be printable ASCII without spaces, quotes or backslashes (RFC 6749 scope-token)',
    );
    ok = false;
  }
  const resource = typeof o.resource === 'string' ? [o.resource] : o.resource;
  if (
    resource !== undefined &&
    (!Array.isArray(resource) ||
      resource.some(
        (r) =>
          typeof r !== 'string' ||
          !URL.canParse(r) ||
          new URL(r).hash !== '' ||
          r.includes('#'),
      ))
  ) {
    problems.add(
      `${at}.resource`,
      'must be an absolute URI without fragment, or a list of them (RFC 8707)',
    );
    ok = false;
  }
  if (
    o.audience !== undefined &&
    (typeof o.audience !== 'string' || o.audience === '')
  ) {
    problems.add(`${at}.audience`, 'must be a non-empty string');
    ok = false;
  }
  if (!ok) return undefined;
  return {
    scope: scopes && scopes.length > 0 ? scopes.join(' ') : undefined,
    resource: [...((resource as string[] | undefined) ?? [])],
    audience: o.audience as string | undefined,
  };
}

/** A URL the client may send its credentials to: https, or http to loopback, or any http with `allowHttp`. */
function credentialUrl(
  v: unknown,
  key: string,
  allowHttp: boolean,
  problems: ConfigProblems,
): string | undefined {
  const u = httpUrl(v);
  if (!u || u.username !== '' || u.password !== '') {
    problems.add(
      `${P}.${key}`,
      'must be an absolute http(s) URL without credentials or fragment',
    );
    return undefined;
  }
  if (u.protocol === 'http:' && !isLoopback(u) && !allowHttp) {
    problems.add(
      `${P}.${key}`,
      `is plain http to ${u.hostname}: the client's credentials would travel in clear. Use https, or set service.oauth2.allowHttp when the path is protected otherwise (e.g. a service mesh with mTLS)`,
    );
    return undefined;
  }
  return v as string;
}

/**
 * Validates `service.oauth2`; every problem goes to `problems` (the client secret is never echoed).
 *
 */
export function normalizeOAuth2Client(
  input: unknown,
  problems: ConfigProblems,
): ResolvedOAuth2Client | undefined {
  if (input === undefined) return undefined;
  const raw = problems.section(P, input, KNOWN);
  if (!raw) return undefined;
  const before = problems.list.length;
  const allowHttp = raw.allowHttp === true;
  if (raw.allowHttp !== undefined && typeof raw.allowHttp !== 'boolean') {
    problems.add(`${P}.allowHttp`, 'must be a boolean (true/false)');
  }
  let issuer: string | undefined;
  let tokenEndpoint: string | undefined;
  if ((raw.issuer === undefined) === (raw.tokenEndpoint === undefined)) {
    problems.add(
      P,
      'give either issuer (the token endpoint is found by discovery) or tokenEndpoint, not both',
    );
  } else if (raw.issuer !== undefined) {
    issuer = credentialUrl(raw.issuer, 'issuer', allowHttp, problems);
  } else {
    tokenEndpoint = credentialUrl(
      raw.tokenEndpoint,
      'tokenEndpoint',
      allowHttp,
      problems,
    );
  }
  const clientId = raw.clientId;
  if (typeof clientId !== 'string' || clientId === '') {
    problems.add(`${P}.clientId`, 'is required (a non-empty string)');
  }
  const secret = raw.clientSecret;
  if (secret !== undefined && (typeof secret !== 'string' || secret === '')) {
    problems.add(`${P}.clientSecret`, 'must be a non-empty string');
  }
  let clientAuth: OAuth2ClientAuthMethod =
    secret === undefined ? 'private_key_jwt' : 'client_secret_basic';
  if (raw.clientAuth !== undefined) {
    if (METHODS.includes(raw.clientAuth as OAuth2ClientAuthMethod)) {
      clientAuth = raw.clientAuth as OAuth2ClientAuthMethod;
    } else {
      problems.add(`${P}.clientAuth`, `must be one of ${METHODS.join(', ')}`);
    }
  }
  if (clientAuth === 'client_secret_basic' && secret === undefined) {
    problems.add(
      `${P}.clientSecret`,
      'is required with clientAuth client_secret_basic',
    );
  }
  if (clientAuth === 'private_key_jwt' && secret !== undefined) {
    problems.add(
      `${P}.clientSecret`,
      'is not used with clientAuth private_key_jwt (the assertion is signed with service.privateKey): remove it, or set clientAuth to client_secret_basic',
    );
  }
  let timeoutMs = 5000;
  if (raw.timeout !== undefined) {
    if (
      typeof raw.timeout !== 'number' ||
      !Number.isFinite(raw.timeout) ||
      raw.timeout <= 0 ||
      raw.timeout > 600
    ) {
      problems.add(`${P}.timeout`, 'must be a number of seconds in (0, 600]');
    } else timeoutMs = raw.timeout * 1000;
  }
  const request = tokenRequest(raw, P, problems);
  const destinations: {
    match: InternalDestinations;
    request: ResolvedOAuth2TokenRequest;
  }[] = [];
  if (raw.destinations !== undefined) {
    if (!Array.isArray(raw.destinations)) {
      problems.add(
        `${P}.destinations`,
        'must be a list of { "url": "https://…", "resource"?, "audience"?, "scope"? } (JSON in the environment variable)',
      );
    } else {
      raw.destinations.forEach((d: unknown, i: number) => {
        const at = `${P}.destinations[${i}]`;
        const o = problems.section(at, d, DESTINATION_KEYS);
        if (!o) return;
        let match: InternalDestinations | undefined;
        try {
          match = new InternalDestinations([o.url as string]);
        } catch (e) {
          if (!(e instanceof JwtIssuerError)) throw e;
          problems.add(
            `${at}.url`,
            'must be an absolute http(s) URL without credentials, query or fragment',
          );
        }
        const r = tokenRequest(o, at, problems);
        if (match && r) destinations.push({ match, request: r });
      });
    }
  }
  if (problems.list.length > before || !request) return undefined;
  return {
    issuer,
    tokenEndpoint,
    clientId: clientId as string,
    clientSecret: secret as string | undefined,
    clientAuth,
    timeoutMs,
    allowHttp,
    request,
    destinations,
  };
}
