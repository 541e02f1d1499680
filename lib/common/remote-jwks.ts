import { Logger } from '@nestjs/common';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import {
  importVerificationJwk,
  type KeySource,
  type VerificationKey,
} from './jwt-verifier.js';

/** Options of {@link RemoteJwksKeySource}. Durations in milliseconds. */
export interface RemoteJwksOptions {
  /** The `iss` whose tokens these keys sign. */
  issuer: string;
  /** Absolute http(s) URL of the JWKS. */
  jwksUri: string;
  /** Timeout of one request. @default 5000 */
  timeoutMs?: number;
  /** Minimum time between two requests (failed or not). @default 30000 */
  cooldownMs?: number;
  /** Longest time a JWKS is used before it is refreshed; a shorter `Cache-Control: max-age` wins. @default 600000 */
  maxAgeMs?: number;
  /** Largest accepted response body, in bytes. @default 1048576 */
  maxBytes?: number;
}

/**
 * The keys of one trusted issuer, fetched from its JWKS with Node's `fetch`: each JWK is imported once into a
 * `KeyObject` bound to its `alg`. Known keys are served synchronously; a stale set is refreshed in the
 * background; an unknown `kid` triggers one refetch, no more often than the cool-down allows. When the endpoint
 * is down, the keys already known stay in use.
 *
 * @example
 * const billing = new RemoteJwksKeySource({ issuer: 'https://billing.internal', jwksUri: 'https://billing.internal/.well-known/jwks.json' });
 * const verifier = new JwtVerifier({ sources: [billing] });
 */
export class RemoteJwksKeySource implements KeySource {
  readonly issuer: string;
  private readonly uri: string;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly logger = new Logger('ServiceTokenJwks');
  private keys = new Map<string, VerificationKey & { json: string }>();
  private staleAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastError: JwtIssuerError | undefined;
  private inflight: Promise<void> | undefined;

  constructor(options: RemoteJwksOptions) {
    this.issuer = options.issuer;
    this.uri = options.jwksUri;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.maxBytes = options.maxBytes ?? 1_048_576;
  }

  /** The key with this `kid`; starts a background refresh when the set is stale. */
  get(kid: string): VerificationKey | undefined {
    if (Date.now() >= this.staleAt && this.inflight === undefined) {
      this.refresh().catch(() => undefined); // failures are logged; known keys stay in use
    }
    return this.keys.get(kid);
  }

  /** The `kid`s known right now. */
  knownKids(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * Fetches the JWKS unless a request is in flight (then shares it) or the cool-down has not passed.
   *
   * @throws {JwtIssuerError} `JWKS_UNAVAILABLE` when this (or the last, during the cool-down) fetch failed.
   */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (Date.now() - this.lastAttempt < this.cooldownMs) {
      return this.lastError
        ? Promise.reject(this.lastError)
        : Promise.resolve();
    }
    this.lastAttempt = Date.now();
    this.inflight = this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    let maxAgeMs = this.maxAgeMs;
    try {
      const res = await fetch(this.uri, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const text = await res.text();
      if (text.length > this.maxBytes) throw new Error('response too large');
      body = JSON.parse(text);
      const m = /(?:^|,)\s*max-age=(\d+)/i.exec(
        res.headers.get('cache-control') ?? '',
      );
      if (m) maxAgeMs = Math.min(maxAgeMs, Number(m[1]) * 1000);
    } catch (cause) {
      this.lastError = new JwtIssuerError(
        JwtIssuerErrorCode.JWKS_UNAVAILABLE,
        `the JWKS of '${this.issuer}' (${this.uri}) could not be fetched: ${(cause as Error).name === 'TimeoutError' ? 'timeout' : (cause as Error).message}`,
        { cause },
      );
      // Retry after the cool-down; keep every key already known.
      this.staleAt = this.lastAttempt + this.cooldownMs;
      this.logger.warn(
        `${this.lastError.message}; keeping ${this.keys.size} known key(s)`,
      );
      throw this.lastError;
    }
    const list = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) {
      this.lastError = new JwtIssuerError(
        JwtIssuerErrorCode.JWKS_UNAVAILABLE,
        `the JWKS of '${this.issuer}' (${this.uri}) has no "keys" list`,
      );
      this.staleAt = this.lastAttempt + this.cooldownMs;
      this.logger.warn(this.lastError.message);
      throw this.lastError;
    }
    const next = new Map<string, VerificationKey & { json: string }>();
    for (const jwk of list) {
      const json = JSON.stringify(jwk);
      const kid = (jwk as { kid?: unknown } | null)?.kid;
      const known = typeof kid === 'string' ? this.keys.get(kid) : undefined;
      if (known && known.json === json) {
        next.set(known.kid, known); // imported once
        continue;
      }
      try {
        const key = importVerificationJwk(jwk);
        if (!next.has(key.kid)) next.set(key.kid, { ...key, json });
      } catch (e) {
        this.logger.warn(
          `JWKS of '${this.issuer}': ${(e as Error).message}; key ignored`,
        );
      }
    }
    for (const [kid, key] of this.keys) {
      // Withdrawn by the issuer: tokens it signed stop being served from caches.
      if (next.get(kid) !== key) key.active = false;
    }
    this.keys = next;
    this.lastError = undefined;
    this.staleAt = Date.now() + Math.max(maxAgeMs, this.cooldownMs);
  }
}
