import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  backOffDelay,
  describeFetchError,
  fetchJsonBounded,
  FetchProblem,
} from '../../http/bounded-fetch.js';
import { discoverEndpoint, discoveryUrlOf } from '../../http/oidc-discovery.js';
import { loggableUrl, printable } from '../../http/printable.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../../errors.js';
import type {
  ResolvedOAuth2Client,
  ResolvedOAuth2TokenRequest,
} from './oauth2-client.interface.js';

/** Largest token endpoint answer accepted (a token response is a few KiB). */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** Longest access token accepted: it must fit the receivers' limits (`service.maxTokenBytes` defaults to 8192). */
export const MAX_ACCESS_TOKEN_CHARS = 16 * 1024;
/** Lifetime assumed when a token response has no `expires_in` (RFC 6749 makes it optional). */
export const DEFAULT_TOKEN_LIFETIME_S = 300;
const MAX_LIFETIME_S = 366 * 24 * 3600;
// Renew once this share of the lifetime has passed (in the background while the token is still good).
const RENEW_AT = 0.75;
const RETRY_MIN_MS = 1000;
// Destination strings whose slot is remembered (the URLs an application calls; emptied when full).
const DESTINATION_CACHE_SIZE = 1024;
const RETRY_MAX_MS = 30_000;
// Visible ASCII: what an access token is made of (RFC 6750 b64token and opaque tokens), safe in a header.
const ACCESS_TOKEN = /^[\x21-\x7e]+$/;
const noop = (): void => undefined;

/** A parsed token response. */
export interface TokenResponse {
  readonly accessToken: string;
  /** Lifetime in seconds (`expires_in`, or {@link DEFAULT_TOKEN_LIFETIME_S}). */
  readonly expiresIn: number;
}

/**
 * Reads a successful token response (RFC 6749 5.1) as untrusted input: a JSON object with an `access_token` of
 * visible ASCII no longer than {@link MAX_ACCESS_TOKEN_CHARS}, `token_type` `Bearer` (any case; DPoP and other
 * types are refused: this client sends bearer tokens), and `expires_in` a positive integer of seconds (a string of
 * digits is read too) or absent.
 *
 * @throws {FetchProblem} naming what is wrong, never quoting the token.
 */
export function parseTokenResponse(body: unknown): TokenResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FetchProblem('the token response is not a JSON object');
  }
  const b = body as Record<string, unknown>;
  const token = b.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new FetchProblem('the token response has no access_token');
  }
  if (token.length > MAX_ACCESS_TOKEN_CHARS || !ACCESS_TOKEN.test(token)) {
    throw new FetchProblem(
      `the access_token is not visible ASCII of at most ${MAX_ACCESS_TOKEN_CHARS} characters`,
    );
  }
  if (
    typeof b.token_type !== 'string' ||
    b.token_type.toLowerCase() !== 'bearer'
  ) {
    throw new FetchProblem(
      `token_type '${printable(b.token_type, 20)}' is not Bearer`,
    );
  }
  let expiresIn = DEFAULT_TOKEN_LIFETIME_S;
  const e = b.expires_in;
  if (e !== undefined) {
    const n =
      typeof e === 'number'
        ? e
        : typeof e === 'string' && /^\d{1,10}$/.test(e)
          ? Number(e)
          : NaN;
    if (!Number.isInteger(n) || n <= 0 || n > MAX_LIFETIME_S) {
      throw new FetchProblem(
        `expires_in is not a positive number of seconds (at most ${MAX_LIFETIME_S})`,
      );
    }
    expiresIn = n;
  }
  return { accessToken: token, expiresIn };
}

/** The `error` of a token endpoint's error answer (RFC 6749 5.2), sanitized; never its free text. */
function errorCodeOf(body: unknown): string {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === 'string' && /^[\x20-\x7e]{1,64}$/.test(error)
    ? ` ${printable(error, 64)}`
    : '';
}

/** `application/x-www-form-urlencoded` encoding of one value. */
function formEncode(v: string): string {
  return encodeURIComponent(v).replace(/%20/g, '+');
}

/** The token of one destination (or of the default request). */
class TokenSlot {
  header: string | undefined;
  value: string | undefined;
  renewAtMs = 0;
  /** After this the token is not sent any more (its expiry, less a margin). */
  usableUntilMs = 0;
  inflight: Promise<TokenSlot> | undefined;
  failures = 0;
  nextAttemptAt = 0;
  lastError: JwtIssuerError | undefined;
  lastWarning = '';
  constructor(
    readonly request: ResolvedOAuth2TokenRequest,
    readonly name: string,
  ) {}
}

/**
 * Gets this service's access tokens from an OAuth 2.0 token endpoint with the client credentials grant, one per
 * destination (its scopes, RFC 8707 `resource`, `audience`), and keeps each until shortly before it expires: served
 * from memory, renewed in the background once 75 % of its lifetime has passed, one request in flight per
 * destination however many callers wait, and after a failure no new request before 1 s, 2 s, 4 s… (up to 30 s),
 * the last error being returned meanwhile. The token endpoint is found by discovery when only the issuer is given.
 * Every request goes through the same bounded fetch as a JWKS (deadline, size, no redirects); nothing secret (the
 * client secret, the assertion, the tokens) is ever logged.
 *
 * @internal the public face is {@link ServiceTokenService.getToken} / `authorizationHeader()`.
 */
export class OAuth2TokenClient {
  private readonly logger = new Logger('ServiceTokenOAuth2');
  private readonly defaultSlot: TokenSlot;
  private readonly slots: {
    match: ResolvedOAuth2Client['destinations'][number]['match'];
    slot: TokenSlot;
  }[];
  private endpoint: string | undefined;
  private readonly basic: string | undefined;
  private readonly slotByDestination = new Map<string, TokenSlot>();

  /**
   * @param signAssertion signs the claims of a `private_key_jwt` client assertion with this service's static key.
   */
  constructor(
    private readonly options: ResolvedOAuth2Client,
    private readonly signAssertion: (claims: Record<string, unknown>) => string,
  ) {
    this.endpoint = options.tokenEndpoint;
    this.defaultSlot = new TokenSlot(options.request, 'default');
    this.slots = options.destinations.map((d, i) => ({
      match: d.match,
      slot: new TokenSlot(d.request, `destination ${i}`),
    }));
    if (options.clientAuth === 'client_secret_basic') {
      // RFC 6749 2.3.1: both parts form-urlencoded before Basic encoding.
      this.basic = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret ?? '')}`).toString('base64')}`;
    }
  }

  /** The access token for a destination (absolute URL), or the default one. */
  token(destination?: string | URL): Promise<string> {
    const slot = this.slotFor(destination);
    const now = Date.now();
    if (slot.value !== undefined && now < slot.renewAtMs) {
      return Promise.resolve(slot.value);
    }
    return this.slowPath(slot, now).then((s) => s.value!);
  }

  /** `Bearer <token>` for a destination (built once per token). */
  header(destination?: string | URL): Promise<string> {
    const slot = this.slotFor(destination);
    const now = Date.now();
    if (slot.header !== undefined && now < slot.renewAtMs) {
      return Promise.resolve(slot.header);
    }
    return this.slowPath(slot, now).then((s) => s.header!);
  }

  private slotFor(destination: string | URL | undefined): TokenSlot {
    if (destination === undefined || this.slots.length === 0) {
      return this.defaultSlot;
    }
    // Matching parses the URL: the answer is remembered per destination string (a bounded map, emptied when full).
    const key =
      typeof destination === 'string' ? destination : destination.href;
    let found = this.slotByDestination.get(key);
    if (found === undefined) {
      found = this.defaultSlot;
      for (const { match, slot } of this.slots) {
        if (match.includes(key)) {
          found = slot;
          break;
        }
      }
      if (this.slotByDestination.size >= DESTINATION_CACHE_SIZE) {
        this.slotByDestination.clear();
      }
      this.slotByDestination.set(key, found);
    }
    return found;
  }

  /** Past the renewal time: a still usable token is served while it is renewed; otherwise the caller waits. */
  private slowPath(slot: TokenSlot, now: number): Promise<TokenSlot> {
    if (slot.value !== undefined && now < slot.usableUntilMs) {
      this.request(slot).catch(noop); // logged; the current token is still good
      return Promise.resolve(slot);
    }
    return this.request(slot);
  }

  /** One request per slot at a time, and none during the back-off after a failure (the last error is returned). */
  private request(slot: TokenSlot): Promise<TokenSlot> {
    if (slot.inflight) return slot.inflight;
    if (Date.now() < slot.nextAttemptAt && slot.lastError) {
      return Promise.reject(slot.lastError);
    }
    slot.inflight = this.fetchToken(slot).finally(() => {
      slot.inflight = undefined;
    });
    return slot.inflight;
  }

  private async fetchToken(slot: TokenSlot): Promise<TokenSlot> {
    const started = Date.now();
    let parsed: TokenResponse;
    try {
      const endpoint = (this.endpoint ??= await discoverEndpoint(
        this.options.issuer!,
        'token_endpoint',
        {
          timeoutMs: this.options.timeoutMs,
          allowHttp: this.options.allowHttp,
        },
      ));
      const { status, body } = await fetchJsonBounded(endpoint, {
        method: 'POST',
        timeoutMs: this.options.timeoutMs,
        maxBytes: MAX_TOKEN_RESPONSE_BYTES,
        readErrorBody: true,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(this.basic ? { authorization: this.basic } : {}),
        },
        body: this.form(slot.request, endpoint),
      });
      if (status < 200 || status > 299) {
        throw new FetchProblem(`HTTP ${status}${errorCodeOf(body)}`);
      }
      parsed = parseTokenResponse(body);
    } catch (cause) {
      throw this.failed(slot, cause);
    }
    if (slot.failures > 0) {
      this.logger.log(`${this.what(slot)}: tokens are obtained again`);
    }
    const lifetimeMs = parsed.expiresIn * 1000;
    slot.value = parsed.accessToken;
    slot.header = `Bearer ${parsed.accessToken}`;
    // Timed from the request's start, on this machine's clock: the AS's clock never matters.
    slot.renewAtMs = started + Math.floor(lifetimeMs * RENEW_AT);
    slot.usableUntilMs =
      started + lifetimeMs - Math.min(30_000, lifetimeMs * 0.1);
    slot.failures = 0;
    slot.lastError = undefined;
    slot.nextAttemptAt = 0;
    return slot;
  }

  /** The form of one client credentials request. */
  private form(request: ResolvedOAuth2TokenRequest, endpoint: string): string {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (request.scope !== undefined) form.set('scope', request.scope);
    for (const r of request.resource) form.append('resource', r);
    if (request.audience !== undefined) form.set('audience', request.audience);
    if (this.options.clientAuth === 'private_key_jwt') {
      const iat = Math.floor(Date.now() / 1000);
      form.set('client_id', this.options.clientId);
      form.set(
        'client_assertion_type',
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      );
      // RFC 7523 3: iss and sub the client, aud the token endpoint, short-lived and unique.
      form.set(
        'client_assertion',
        this.signAssertion({
          iss: this.options.clientId,
          sub: this.options.clientId,
          aud: endpoint,
          iat,
          exp: iat + 60,
          jti: randomUUID(),
        }),
      );
    }
    return form.toString();
  }

  /** What a log line is about: the token endpoint, or the discovery document while the endpoint is not known yet. */
  private what(slot: TokenSlot): string {
    const where =
      this.endpoint === undefined
        ? `the discovery document ${loggableUrl(discoveryUrlOf(this.options.issuer!))} (to find the token endpoint)`
        : `the token endpoint ${loggableUrl(this.endpoint)}`;
    return `${where} for client '${printable(this.options.clientId, 100)}' (${slot.name})`;
  }

  /** Records a failure, schedules the retry, logs once per streak, and returns the error to throw. */
  private failed(slot: TokenSlot, cause: unknown): JwtIssuerError {
    slot.failures++;
    const delay = backOffDelay(slot.failures, RETRY_MIN_MS, RETRY_MAX_MS);
    slot.nextAttemptAt = Date.now() + delay;
    const message = `${this.what(slot)} failed: ${describeFetchError(cause)}`;
    slot.lastError = new JwtIssuerError(
      JwtIssuerErrorCode.OAUTH2_TOKEN_UNAVAILABLE,
      message,
      { cause },
    );
    const line = `${message}; ${slot.value !== undefined && Date.now() < slot.usableUntilMs ? 'the current token is still used' : 'no token to send'}, next try in ${delay} ms`;
    if (slot.failures === 1 || !slot.lastWarning.startsWith(message)) {
      this.logger.warn(line);
      slot.lastWarning = line;
    } else {
      this.logger.debug(line);
    }
    return slot.lastError;
  }
}
