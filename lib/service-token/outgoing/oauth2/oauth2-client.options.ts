import type { ConfigProblems } from '../../../config/config-problems.js';
import { httpUrl, isLoopback } from '../../http/urls.js';
import { JwtIssuerError } from '../../../errors.js';
import { InternalDestinations } from '../clients/internal-destinations.js';
import { INVALID, type Invalid } from '../../../config/option-fields.js';
import { type ReadValues, readOptions } from '../../../config/read-options.js';
import {
  DESTINATION_OPTIONS,
  OAUTH2_CLIENT_OPTIONS,
  type ResolvedOAuth2Client,
  type ResolvedOAuth2TokenRequest,
  type TOKEN_REQUEST_OPTIONS,
} from './oauth2-client.interface.js';

const P = 'service.oauth2';
// RFC 6749 3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** `scope`: each a scope-token. */
function checkScopes(
  scopes: string[] | undefined,
  path: string,
  problems: ConfigProblems,
): string[] | undefined | Invalid {
  if (scopes?.some((s) => !SCOPE_TOKEN.test(s))) {
    problems.add(
      path,
      'each scope must be printable ASCII without spaces, quotes or backslashes (RFC 6749 scope-token)',
    );
    return INVALID;
  }
  return scopes;
}

/** The token request of an object (the top level or a destination), read with its options. */
function tokenRequest(
  v: ReadValues<typeof TOKEN_REQUEST_OPTIONS, { scope: string[] | undefined }>,
): ResolvedOAuth2TokenRequest {
  return {
    scope: v.scope && v.scope.length > 0 ? v.scope.join(' ') : undefined,
    resource: v.resource ?? [],
    audience: v.audience,
  };
}

/** One destination with its own token request, or `undefined` after recording its problems. */
function destination(
  d: unknown,
  at: string,
  problems: ConfigProblems,
): ResolvedOAuth2Client['destinations'][number] | undefined {
  const v = readOptions(at, d, DESTINATION_OPTIONS, problems, {
    url: (url, path) => {
      try {
        return new InternalDestinations([url]);
      } catch (e) {
        if (!(e instanceof JwtIssuerError)) throw e;
        problems.add(
          path,
          'must be an absolute http(s) URL without credentials, query or fragment',
        );
        return INVALID;
      }
    },
    scope: (scopes, path) => checkScopes(scopes, path, problems),
  })?.complete();
  return v && { match: v.url, request: tokenRequest(v) };
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
 * Validates `service.oauth2`; every problem goes to `problems` (the client secret is never echoed). Its options,
 * then the rules that span them: `issuer` or `tokenEndpoint` (a URL the credentials may travel to), and the client
 * authentication that fits the secret.
 */
export function normalizeOAuth2Client(
  input: unknown,
  problems: ConfigProblems,
): ResolvedOAuth2Client | undefined {
  if (input === undefined) return undefined;
  const read = readOptions(P, input, OAUTH2_CLIENT_OPTIONS, problems, {
    scope: (scopes, path) => checkScopes(scopes, path, problems),
    destinations: (list, path) => {
      if (!Array.isArray(list)) {
        problems.add(
          path,
          'must be a list of { "url": "https://…", "resource"?, "audience"?, "scope"? } (JSON in the environment variable)',
        );
        return INVALID;
      }
      return list
        .map((d: unknown, i) => destination(d, `${path}[${i}]`, problems))
        .filter((d) => d !== undefined);
    },
  });
  if (!read) return undefined;
  const { given, values } = read;
  let issuer: string | undefined;
  let tokenEndpoint: string | undefined;
  if ((given.issuer === undefined) === (given.tokenEndpoint === undefined)) {
    problems.add(
      P,
      'give either issuer (the token endpoint is found by discovery) or tokenEndpoint, not both',
    );
  } else if (given.issuer !== undefined) {
    issuer = credentialUrl(given.issuer, 'issuer', values.allowHttp, problems);
    if (issuer !== undefined && /[?#]/.test(issuer)) {
      // OpenID Connect Discovery 1.0 §3: an issuer has no query or fragment; its discovery URL could not be built.
      problems.add(
        `${P}.issuer`,
        'must have no query or fragment (the token endpoint is found by OpenID Connect discovery under it)',
      );
      issuer = undefined;
    }
  } else {
    tokenEndpoint = credentialUrl(
      given.tokenEndpoint,
      'tokenEndpoint',
      values.allowHttp,
      problems,
    );
  }
  const secret = given.clientSecret;
  const clientAuth =
    values.clientAuth ??
    (secret === undefined ? 'private_key_jwt' : 'client_secret_basic');
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
  const v = read.complete();
  if (!v) return undefined;
  return {
    issuer,
    tokenEndpoint,
    clientId: v.clientId,
    clientSecret: v.clientSecret,
    clientAuth,
    timeoutMs: v.timeout * 1000,
    allowHttp: v.allowHttp,
    request: tokenRequest(v),
    destinations: v.destinations,
  };
}
