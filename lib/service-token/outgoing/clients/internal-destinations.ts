import { JwtIssuerError, JwtIssuerErrorCode } from '../../../errors.js';

/**
 * The destinations an app marks as its internal services: the only ones the service token is sent to by
 * {@link createServiceTokenFetch} and {@link useServiceTokenInterceptor}. Each entry is an absolute `http(s)` URL:
 * an origin (`https://billing.internal`: every path of it) or an origin and a path prefix
 * (`https://gateway.internal/billing/`: that path and below, on segment boundaries). Scheme, host and port must
 * match exactly (`http://billing.internal` does not cover `https://billing.internal`, nor `:8443`).
 *
 * @example
 * const internal = new InternalDestinations(['https://billing.internal', 'http://127.0.0.1:3001/internal/']);
 * internal.includes('https://billing.internal/invoices?x=1'); // true
 * internal.includes('https://billing.internal.evil.com/');    // false
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an empty list or an entry that is not an absolute http(s) URL
 * without credentials, query or fragment.
 */
export class InternalDestinations {
  private readonly entries: readonly { origin: string; path: string }[];

  constructor(destinations: readonly (string | URL)[]) {
    if (!Array.isArray(destinations) || destinations.length === 0) {
      throw invalid('give at least one internal origin or URL');
    }
    this.entries = destinations.map((d, i) => {
      const url = parse(d);
      if (
        url === undefined ||
        (url.protocol !== 'https:' && url.protocol !== 'http:') ||
        url.username !== '' ||
        url.password !== '' ||
        url.search !== '' ||
        url.hash !== ''
      ) {
        throw invalid(
          `entry ${i} must be an absolute http(s) URL without credentials, query or fragment`,
        );
      }
      const path = url.pathname.endsWith('/')
        ? url.pathname
        : `${url.pathname}/`;
      return { origin: url.origin, path };
    });
  }

  /** True when `destination` (absolute URL) is one of the internal destinations. Relative or unparsable: false. */
  includes(destination: string | URL): boolean {
    const url = parse(destination);
    if (url === undefined || url.username !== '' || url.password !== '')
      return false;
    const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    return this.entries.some(
      (e) => e.origin === url.origin && path.startsWith(e.path),
    );
  }
}

function parse(value: string | URL): URL | undefined {
  try {
    return new URL(value instanceof URL ? value.href : String(value));
  } catch {
    return undefined;
  }
}

function invalid(message: string): JwtIssuerError {
  return new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `InternalDestinations: ${message}`,
  );
}
