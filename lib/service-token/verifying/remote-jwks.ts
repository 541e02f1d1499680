import { Logger } from '@nestjs/common';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type {
  KeySource,
  VerificationKey,
  VerifyAlgorithm,
} from './jwt-verifier.js';
import {
  backOffDelay,
  describeFetchError,
  fetchJsonBounded,
  FetchProblem,
} from '../http/bounded-fetch.js';
import { importVerificationJwk } from './verification-jwk.js';
import { discoverEndpoint, discoveryUrlOf } from '../http/oidc-discovery.js';
import { loggableIssuer, loggableUrl } from '../http/printable.js';
import { MAX_TIMER_MS } from '../../common/time.js';
import {
  ATTR,
  CounterSeries,
  type DurationRecorder,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../../common/telemetry.js';

/** Options of {@link RemoteJwksKeySource}. Durations in milliseconds. */
export interface RemoteJwksOptions {
  /** The `iss` whose tokens these keys sign. */
  issuer: string;
  /**
   * Absolute http(s) URL of the JWKS. Without it the JWKS is found by OpenID Connect discovery: the `jwks_uri` of
   * `<issuer>/.well-known/openid-configuration`, fetched with the same bounds, whose `issuer` must equal `issuer`
   * exactly (the issuer must then be an http(s) URL).
   */
  jwksUri?: string;
  /**
   * Accept a plain-http `jwks_uri` to a host other than loopback (`localhost`, `127.0.0.0/8`, `::1`; not a name
   * under `.localhost`) in the discovery document. @default false
   */
  allowHttp?: boolean;
  /** Algorithms this issuer's keys may use; a JWK without `alg` is bound to the one that fits it. @default ['RS256', 'ES256', 'EdDSA'] */
  algorithms?: readonly VerifyAlgorithm[];
  /** Deadline of one request, headers and body together, whatever the server does. @default 5000 */
  timeoutMs?: number;
  /** Minimum time between two requests made for an unknown `kid` (after a success). @default 30000 */
  cooldownMs?: number;
  /** First delay before retrying a failed request; it doubles on each failure, up to `cooldownMs`. @default 1000 */
  retryMinMs?: number;
  /** Longest time a JWKS is used before it is refreshed; a shorter `Cache-Control: max-age` wins. @default 600000 */
  maxAgeMs?: number;
  /** Shortest refresh interval a `Cache-Control: max-age` may ask for. @default 1000 */
  minMaxAgeMs?: number;
  /**
   * How long a key missing from a response stays usable (0: dropped at once); then it is withdrawn, tokens in a
   * verified-token cache included. @default 300000
   */
  keyGraceMs?: number;
  /** Largest accepted response body, counted in decoded bytes as they arrive. @default 1048576 */
  maxBytes?: number;
  /** Most keys kept for this issuer (listed and in their grace period); further entries are ignored. @default 100 */
  maxKeys?: number;
}

/** What a trusted issuer's key source knows of its own state (for the health report). Times in ms since the epoch. */
export interface RemoteJwksState {
  /** The issuer as configured (a URL without its userinfo, query or fragment). */
  readonly issuer: string;
  /** The JWKS URL without userinfo, query or fragment. */
  readonly jwksUri: string;
  /** Keys usable now (those in their grace period included). */
  readonly keys: number;
  /** Of {@link keys}, those the last answer no longer lists: usable until their grace period ends, then withdrawn. */
  readonly keysInGracePeriod: number;
  /** The last successful fetch, if any. */
  readonly lastSuccessAt: number | undefined;
  /** The last failed fetch, if any. */
  readonly lastFailureAt: number | undefined;
  /** Failed fetches since the last success. */
  readonly consecutiveFailures: number;
  /** Why the last fetch failed (sanitized: no URL userinfo or query), while failures go on. */
  readonly lastError: string | undefined;
  /** When the next fetch may happen (the cool-down after a success, the retry delay after a failure). */
  readonly nextAttemptAt: number;
  /** When the keys are due for a refresh (`Cache-Control: max-age`, at most `maxAgeMs`). */
  readonly staleAt: number;
  /** A request is in flight. */
  readonly fetching: boolean;
}

interface Entry {
  readonly key: VerificationKey;
  /** The JWK as fetched (to import each key once). */
  readonly json: string;
  /** Usable until then: `Infinity` while listed, the end of its grace period once missing. */
  until: number;
  /** Withdraws the key when its grace period ends (set while it is missing from the JWKS). */
  timer?: NodeJS.Timeout;
}

/**
 * Withdraws a missing key the moment its grace period ends (`entry.until`), not at the next fetch or lookup: the
 * verified-token cache serves tokens without asking the source, and reads only `key.active`. Stops when the key is
 * listed again (`until` back to `Infinity`).
 */
function withdrawAtGraceEnd(entry: Entry): void {
  clearTimeout(entry.timer);
  entry.timer = undefined;
  const left = entry.until - Date.now();
  if (left === Infinity) return;
  if (left <= 0) {
    entry.key.active = false;
    return;
  }
  entry.timer = setTimeout(
    () => withdrawAtGraceEnd(entry),
    Math.min(left, MAX_TIMER_MS),
  );
  entry.timer.unref();
}

const noop = (): void => undefined;
// Refused entries named in the one warning a response gets (the rest are counted).
const LISTED = 10;

/**
 * The keys of one trusted issuer, fetched from its JWKS with Node's `fetch`: each JWK is imported once into a
 * `KeyObject` bound to one algorithm. Known keys are served synchronously; a stale set is refreshed in the
 * background; an unknown `kid` triggers one refetch, no more often than the cool-down allows.
 *
 * The endpoint is treated as untrusted input: one deadline bounds the whole request (a body trickling in byte by
 * byte included), the body is counted in decoded bytes as it arrives and dropped at `maxBytes` (a gzip bomb never
 * inflates further), keys that would let anyone forge are refused, and every text from the network is sanitized
 * before it is logged. When the endpoint fails, the keys already known stay in use and the request is retried
 * after 1 s, 2 s, 4 s… up to the cool-down. A key missing from one response stays usable for `keyGraceMs` (a load
 * balancer in front of replicas that disagree for a moment does not drop it).
 *
 * @example
 * const billing = new RemoteJwksKeySource({ issuer: 'https://billing.internal', jwksUri: 'https://billing.internal/.well-known/jwks.json' });
 * const verifier = new JwtVerifier({ sources: [billing] });
 */
export class RemoteJwksKeySource implements KeySource {
  readonly issuer: string;
  /** The JWKS URL: configured, or found by discovery (then `undefined` until found). */
  private uri: string | undefined;
  /** The URL as logged: no userinfo, query or fragment. */
  private shownUri: string;
  /** The issuer as logged (a URL without its userinfo, query or fragment). */
  private readonly shownIssuer: string;
  private readonly allowHttp: boolean;
  private readonly algorithms: readonly VerifyAlgorithm[] | undefined;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly retryMinMs: number;
  private readonly maxAgeMs: number;
  private readonly minMaxAgeMs: number;
  private readonly keyGraceMs: number;
  private readonly maxBytes: number;
  private readonly maxKeys: number;
  private readonly logger = new Logger('ServiceTokenJwks');
  private keys = new Map<string, Entry>();
  private staleAt = 0;
  /** Before this, `refresh()` makes no request (the cool-down after a success, the retry delay after a failure). */
  private nextAttemptAt = 0;
  private lastError: JwtIssuerError | undefined;
  private failures = 0;
  private lastWarning = '';
  private inflight: Promise<void> | undefined;
  private lastSuccessAt: number | undefined;
  private lastFailureAt: number | undefined;
  private readonly fetchSucceeded: CounterSeries;
  private readonly fetchFailed: CounterSeries;
  private readonly fetchDuration: DurationRecorder | undefined;

  /** @param telemetry - where fetches are counted and timed (internal: the module passes its own). */
  constructor(options: RemoteJwksOptions, telemetry?: JwtIssuerTelemetry) {
    this.issuer = options.issuer;
    this.uri = options.jwksUri;
    this.shownUri = loggableUrl(
      options.jwksUri ?? discoveryUrlOf(options.issuer),
    );
    this.shownIssuer = loggableIssuer(options.issuer);
    this.allowHttp = options.allowHttp ?? false;
    this.algorithms = options.algorithms;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.retryMinMs = options.retryMinMs ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.minMaxAgeMs = options.minMaxAgeMs ?? 1000;
    this.keyGraceMs = options.keyGraceMs ?? 300_000;
    this.maxBytes = options.maxBytes ?? 1_048_576;
    this.maxKeys = options.maxKeys ?? 100;
    const fetches = JWT_ISSUER_INSTRUMENTS.jwksFetches;
    // A metric label: a userinfo, query or fragment of a configured issuer never becomes one.
    const label = loggableIssuer(this.issuer);
    const ok = { [ATTR.issuer]: label, [ATTR.outcome]: 'success' };
    const failed = { [ATTR.issuer]: label, [ATTR.outcome]: 'failure' };
    this.fetchSucceeded =
      telemetry?.counter(fetches, ok) ?? new CounterSeries(ok);
    this.fetchFailed =
      telemetry?.counter(fetches, failed) ?? new CounterSeries(failed);
    this.fetchDuration = telemetry?.histogram(
      JWT_ISSUER_INSTRUMENTS.jwksFetchDuration,
    );
  }

  /** What this source knows of its state now (for the health report; nothing secret). */
  state(): RemoteJwksState {
    const now = Date.now();
    let keys = 0;
    let keysInGracePeriod = 0;
    for (const entry of this.keys.values()) {
      if (now >= entry.until) continue;
      keys++;
      if (entry.until !== Infinity) keysInGracePeriod++;
    }
    return {
      issuer: this.shownIssuer,
      jwksUri: this.shownUri,
      keys,
      keysInGracePeriod,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      consecutiveFailures: this.failures,
      lastError:
        this.failures > 0 && this.lastError
          ? this.lastError.message
          : undefined,
      nextAttemptAt: this.nextAttemptAt,
      staleAt: this.staleAt,
      fetching: this.inflight !== undefined,
    };
  }

  /**
   * Starts a fetch in the background when the keys are due (never fetched, stale, or a retry is due), as a
   * verification would; never waits.
   */
  warm(): void {
    if (Date.now() >= this.staleAt && this.inflight === undefined) {
      this.start().catch(noop);
    }
  }

  /** The key with this `kid`; starts a background refresh when the set is stale (or a retry is due). */
  get(kid: string): VerificationKey | undefined {
    const now = Date.now();
    if (now >= this.staleAt && this.inflight === undefined) {
      this.start().catch(noop); // failures are logged; known keys stay in use
    }
    const entry = this.keys.get(kid);
    if (entry === undefined) return undefined;
    if (now >= entry.until) {
      // Missing from the JWKS for longer than the grace period: withdrawn.
      clearTimeout(entry.timer);
      entry.key.active = false;
      this.keys.delete(kid);
      return undefined;
    }
    return entry.key;
  }

  /** The `kid`s known right now (those in their grace period included). */
  knownKids(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * Fetches the JWKS unless a request is in flight (then shares it, which never outlasts the timeout) or the
   * cool-down has not passed (after a failure: the retry delay, 1 s doubling up to the cool-down).
   *
   * @throws {JwtIssuerError} `JWKS_UNAVAILABLE` when this (or the last, while waiting to retry) fetch failed.
   */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (Date.now() < this.nextAttemptAt) {
      return this.lastError
        ? Promise.reject(this.lastError)
        : Promise.resolve();
    }
    return this.start();
  }

  /** Delay before the next attempt after `failures` failures in a row. */
  private retryDelay(): number {
    return backOffDelay(this.failures, this.retryMinMs, this.cooldownMs);
  }

  private start(): Promise<void> {
    this.inflight = this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let list: unknown[];
    let maxAgeMs: number;
    const started = performance.now();
    try {
      if (this.uri === undefined) {
        // Discovery, once: the document names where the keys are; the keys are then refreshed from there.
        this.uri = await discoverEndpoint(this.issuer, 'jwks_uri', {
          timeoutMs: this.timeoutMs,
          allowHttp: this.allowHttp,
        });
        this.shownUri = loggableUrl(this.uri);
      }
      const { body, maxAgeMs: maxAge } = await fetchJsonBounded(this.uri, {
        timeoutMs: this.timeoutMs,
        maxBytes: this.maxBytes,
      });
      const keys = (body as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys)) throw new FetchProblem('no "keys" list');
      list = keys;
      maxAgeMs = Math.max(this.minMaxAgeMs, Math.min(this.maxAgeMs, maxAge));
    } catch (cause) {
      this.fetchFailed.value++;
      this.fetchDuration?.record(
        (performance.now() - started) / 1000,
        this.fetchFailed.attributes,
      );
      throw this.failed(cause);
    }
    this.fetchSucceeded.value++;
    this.fetchDuration?.record(
      (performance.now() - started) / 1000,
      this.fetchSucceeded.attributes,
    );
    this.lastSuccessAt = Date.now();
    if (this.failures > 0) {
      this.logger.log(
        `the JWKS of '${this.shownIssuer}' (${this.shownUri}) is reachable again`,
      );
    }
    this.failures = 0;
    this.lastError = undefined;
    this.install(list);
    this.staleAt = Date.now() + maxAgeMs;
    this.nextAttemptAt = Date.now() + this.cooldownMs;
  }

  /** Records a failed attempt, schedules the retry, logs, and returns the error to throw. */
  private failed(cause: unknown): JwtIssuerError {
    const reason = describeFetchError(cause);
    this.lastError = new JwtIssuerError(
      JwtIssuerErrorCode.JWKS_UNAVAILABLE,
      `the JWKS of '${this.shownIssuer}' (${this.shownUri}) could not be fetched: ${reason}`,
      { cause },
    );
    this.failures++;
    this.lastFailureAt = Date.now();
    // Retry sooner than the cool-down: a peer that starts after this service is accepted about a second later.
    this.staleAt = this.nextAttemptAt = Date.now() + this.retryDelay();
    const line = `${this.lastError.message}; keeping ${this.keys.size} known key(s), next try in ${this.retryDelay()} ms`;
    // Once per streak of identical failures: a peer down for an hour writes a few lines, not thousands.
    if (
      this.failures === 1 ||
      !this.lastWarning.startsWith(this.lastError.message)
    ) {
      this.logger.warn(line);
      this.lastWarning = line;
    } else {
      this.logger.debug(line);
    }
    return this.lastError;
  }

  /** Replaces the key set by the keys of a response, keeping missing keys for their grace period. */
  private install(list: readonly unknown[]): void {
    const now = Date.now();
    const next = new Map<string, Entry>();
    const ignored: string[] = [];
    let ignoredCount = 0;
    for (const jwk of list) {
      const kid = (jwk as { kid?: unknown } | null)?.kid;
      if (typeof kid === 'string' && next.has(kid)) continue; // first one wins
      if (next.size >= this.maxKeys) {
        ignoredCount++;
        if (ignored.length < LISTED)
          ignored.push(`more than ${this.maxKeys} keys`);
        continue;
      }
      const json = JSON.stringify(jwk);
      const known = typeof kid === 'string' ? this.keys.get(kid) : undefined;
      if (known && known.json === json) {
        known.until = Infinity; // imported once
        withdrawAtGraceEnd(known); // listed again: no withdrawal due
        next.set(known.key.kid, known);
        continue;
      }
      try {
        const key = importVerificationJwk(jwk, { algorithms: this.algorithms });
        next.set(key.kid, { key, json, until: Infinity });
      } catch (e) {
        ignoredCount++;
        if (ignored.length < LISTED) ignored.push((e as Error).message);
      }
    }
    for (const [kid, entry] of this.keys) {
      const listed = next.get(kid);
      if (listed === entry) continue;
      if (
        listed === undefined &&
        this.keyGraceMs > 0 &&
        next.size < this.maxKeys
      ) {
        const wasListed = entry.until === Infinity;
        entry.until = Math.min(entry.until, now + this.keyGraceMs);
        if (now < entry.until) {
          next.set(kid, entry); // missing from this response: kept for its grace period
          if (wasListed) withdrawAtGraceEnd(entry);
          continue;
        }
      }
      // Withdrawn (or replaced) by the issuer: tokens it signed stop being served from caches.
      clearTimeout(entry.timer);
      entry.key.active = false;
    }
    this.keys = next;
    if (ignoredCount > 0) {
      // One line per response however many entries are bad, and only when it says something new.
      const line = `the JWKS of '${this.shownIssuer}' (${this.shownUri}): ${ignoredCount} of ${list.length} entries ignored (${ignored.join('; ')}${ignoredCount > ignored.length ? '; …' : ''})`;
      if (line !== this.lastWarning) this.logger.warn(line);
      else this.logger.debug(line);
      this.lastWarning = line;
    }
  }
}
