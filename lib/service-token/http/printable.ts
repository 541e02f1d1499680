/**
 * Text from the network made safe for one log line: control characters, line and paragraph separators and
 * bidirectional overrides become `?`, and anything past `max` characters is cut (marked with `…`). Non-strings
 * print as their type.
 *
 * @example
 * printable('k1\n[ERROR] forged', 32); // 'k1?[ERROR] forged'
 */
export function printable(value: unknown, max = 64): string {
  if (typeof value !== 'string') return `(${typeof value})`;
  const cut = value.length > max ? value.slice(0, max) : value;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    const unsafe =
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069);
    out += unsafe ? '?' : cut[i];
  }
  return cut === value ? out : `${out}…`;
}

/**
 * A URL as it may be logged: scheme, host and path only (never the userinfo, query string or fragment, which may
 * hold credentials), through {@link printable}.
 *
 * @example
 * loggableUrl('https://user:pw@jwks.internal/keys.json?token=secret'); // 'https://jwks.internal/keys.json'
 */
export function loggableUrl(value: string, max = 120): string {
  try {
    const u = new URL(value);
    return printable(`${u.protocol}//${u.host}${u.pathname}`, max);
  } catch {
    return '(invalid URL)';
  }
}

/**
 * An error's message as it may be shown in a log line or a health report: every URL in it replaced by `<url>`
 * (a driver's message may quote a connection string, password included), through {@link printable}. For messages
 * from elsewhere (a driver, `fetch`, a key store or signer); the module's own messages name their URLs through
 * {@link loggableUrl} and {@link loggableIssuer} instead (scheme, host and path).
 *
 * @example
 * errorText(new Error('connect to redis://:pw@cache:6379 failed')); // 'connect to <url> failed'
 */
export function errorText(error: unknown, max = 200): string {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return `(${typeof error})`;
  return printable(
    message.replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>'),
    max,
  );
}

/**
 * An issuer as it may be logged or reported: as configured, through {@link printable}; a URL that holds a userinfo,
 * query or fragment is shown without them (see {@link loggableUrl}).
 *
 * @example
 * loggableIssuer('https://orders.internal'); // 'https://orders.internal'
 * loggableIssuer('https://user:pw@orders.internal/?k=v'); // 'https://orders.internal/'
 */
export function loggableIssuer(issuer: string, max = 200): string {
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  return url && (url.username || url.password || url.search || url.hash)
    ? loggableUrl(issuer, max)
    : printable(issuer, max);
}
