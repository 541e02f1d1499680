import { fetchJsonBounded, FetchProblem } from './bounded-fetch.js';
import { loggableIssuer } from './printable.js';
import { isFetchableUrl } from './urls.js';

/** The members of an OpenID Connect discovery document (RFC 8414 metadata) this package reads. */
export type DiscoveredEndpoint = 'jwks_uri' | 'token_endpoint';

/** Largest discovery document accepted (real ones are a few KiB). */
export const MAX_DISCOVERY_BYTES = 256 * 1024;

/** Where an issuer's discovery document is: `<issuer>/.well-known/openid-configuration` (a trailing `/` dropped). */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Reads one endpoint from a discovery document, as untrusted input: the document must be a JSON object whose
 * `issuer` equals `issuer` exactly (OpenID Connect Discovery 4.3: a document served for another issuer is refused),
 * and the endpoint an absolute https URL (http only to loopback, or with `allowHttp`) without credentials or
 * fragment.
 *
 * @throws {FetchProblem} naming what is wrong (sanitized, bounded).
 */
export function parseDiscoveryDocument(
  document: unknown,
  issuer: string,
  endpoint: DiscoveredEndpoint,
  allowHttp = false,
): string {
  if (
    typeof document !== 'object' ||
    document === null ||
    Array.isArray(document)
  ) {
    throw new FetchProblem('the discovery document is not a JSON object');
  }
  const d = document as Record<string, unknown>;
  if (d.issuer !== issuer) {
    throw new FetchProblem(
      typeof d.issuer === 'string'
        ? `the discovery document is for issuer '${loggableIssuer(d.issuer, 200)}', not this one`
        : 'the discovery document has no issuer',
    );
  }
  const url = d[endpoint];
  if (typeof url !== 'string') {
    throw new FetchProblem(`the discovery document has no ${endpoint}`);
  }
  if (url.length > 2048 || !isFetchableUrl(url, allowHttp)) {
    throw new FetchProblem(
      `the discovery document's ${endpoint} is not an https URL without credentials (plain http only to loopback or with allowHttp)`,
    );
  }
  return url;
}

/**
 * Fetches an issuer's discovery document (bounded like a JWKS) and returns one of its endpoints.
 *
 * @throws {FetchProblem} or fetch's own error (see `describeFetchError`).
 */
export async function discoverEndpoint(
  issuer: string,
  endpoint: DiscoveredEndpoint,
  options: { timeoutMs: number; allowHttp?: boolean },
): Promise<string> {
  const { body } = await fetchJsonBounded(discoveryUrlOf(issuer), {
    timeoutMs: options.timeoutMs,
    maxBytes: MAX_DISCOVERY_BYTES,
  });
  return parseDiscoveryDocument(body, issuer, endpoint, options.allowHttp);
}
