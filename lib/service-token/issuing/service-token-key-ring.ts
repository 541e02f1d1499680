import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { JwsSigner } from '../../common/jws-signer.js';
import type { KeySource, VerificationKey } from '../verifying/jwt-verifier.js';
import { publicJwk } from '../../common/keys.js';
import type {
  ResolvedServiceTokenOptions,
  ServiceTokenAlgorithm,
} from '../interfaces/service-token-options.interface.js';
import { generateServiceKey } from '../service-token.options.js';

/** One public key of a JWKS, as published. */
export interface PublishedJwk {
  kty: string;
  kid: string;
  alg: string;
  use: 'sig';
  [member: string]: unknown;
}

/** What a key ring knows of its state, for the health report (internal). Times in ms since the epoch. */
export interface KeyRingState {
  /** The `kid` that signs now; `undefined` when the ring cannot sign (the error says why). */
  readonly signingKid: string | undefined;
  readonly signingError?: string;
  /** Which key signs: the static key, or a dynamic (rotated) key. */
  readonly signingWith: 'static' | 'dynamic' | undefined;
  /** When the current dynamic key started signing (rotation on). */
  readonly lastRotationAt?: number;
  /** When the next rotation is due (rotation on). */
  readonly nextRotationAt?: number;
  /** False when a rotation is overdue, or the ring signs with the static key although it rotates. */
  readonly rotationOnSchedule?: boolean;
  /** The shared key store's side (a ring shared through `service.keyStore`). */
  readonly keyStore?: {
    readonly lastSyncAt: number | undefined;
    readonly consecutiveFailures: number;
    readonly lastError: string | undefined;
  };
}

/** How late a rotation may be (past its interval) before it counts as overdue, in ms. */
export const ROTATION_SLACK_MS = 60_000;

/**
 * What the service needs of its keys (internal): {@link ServiceTokenKeyRing} (keys in this process) and
 * `SharedServiceTokenKeyRing` (keys shared by the replicas through a key store).
 */
export interface ServiceKeyRing extends KeySource {
  /** True when dynamic keys are on. */
  readonly rotating: boolean;
  /** True when the ring rotates by itself (shared); otherwise the service's timer calls {@link rotate}. */
  readonly selfRotating: boolean;
  start(): Promise<void>;
  stop(): void;
  rotate(): Promise<void>;
  signer(useStaticKey: boolean): JwsSigner;
  noteSigned(kid: string | undefined, expMs: number): void;
  jwks(): { keys: PublishedJwk[] };
  secondsUntilChange(): number | undefined;
  /** The ring's state now (for the health report). */
  state(): KeyRingState;
}

/** A signing key of this service (internal). */
export interface RingKey {
  readonly kind: 'static' | 'dynamic';
  readonly signer: JwsSigner;
  readonly verification: VerificationKey;
  readonly jwk: PublishedJwk;
  /** When the key stopped signing (dynamic keys only). */
  signingUntil?: number;
  /** Latest `exp` of a token it signed, in ms. */
  maxExpMs: number;
}

/** What both key rings read from the options: issuer, algorithm, rotation interval and token validity in ms. */
export function ringSettings(options: ResolvedServiceTokenOptions): {
  issuer: string;
  algorithm: ServiceTokenAlgorithm;
  intervalMs: number | undefined;
  validityMs: number;
} {
  return {
    issuer: options.issuer,
    algorithm: options.algorithm,
    intervalMs:
      options.rotationInterval === undefined
        ? undefined
        : options.rotationInterval * 1000,
    validityMs: options.tokenValidity * 1000,
  };
}

/** RFC 7638 thumbprint: stable across restarts and replicas that share the key. */
export function thumbprint(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<
    string,
    string
  >;
  const members =
    jwk.kty === 'RSA'
      ? ['e', 'kty', 'n']
      : jwk.kty === 'EC'
        ? ['crv', 'kty', 'x', 'y']
        : ['crv', 'kty', 'x'];
  const canonical = `{${members.map((m) => `"${m}":"${jwk[m]}"`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * This service's keys: the static key (`kid` `s-<RFC 7638 thumbprint>`) and, when rotation is on, dynamic keys
 * (`kid` `d-<created ms>`). A dynamic key is published one rotation interval before it signs, and stays published
 * until `interval + 2 × token validity` after it stopped signing and after the last token it signed expired.
 * Keys change only at rotations, so the JWKS can be cached until the next one. Also the key source that
 * verifies this service's own tokens.
 */
export class ServiceTokenKeyRing implements ServiceKeyRing {
  readonly issuer: string;
  readonly selfRotating = false;
  private readonly algorithm: ServiceTokenAlgorithm;
  private readonly intervalMs: number | undefined;
  private readonly validityMs: number;
  private readonly staticKey: RingKey;
  private current: RingKey | undefined;
  private next: RingKey | undefined;
  private retired: RingKey[] = [];
  private readonly byKid = new Map<string, RingKey>();
  private lastRotation = Date.now();
  private lastKidMs = 0;
  private jwksCache: { keys: PublishedJwk[] } | undefined;

  constructor(options: ResolvedServiceTokenOptions) {
    ({
      issuer: this.issuer,
      algorithm: this.algorithm,
      intervalMs: this.intervalMs,
      validityMs: this.validityMs,
    } = ringSettings(options));
    this.staticKey = makeRingKey(
      'static',
      `s-${thumbprint(options.privateKey)}`,
      options.privateKey,
      this.algorithm,
    );
    this.byKid.set(this.staticKey.verification.kid, this.staticKey);
  }

  /** Creates the first two dynamic keys (current and next) when rotation is on. */
  async start(): Promise<void> {
    if (this.intervalMs === undefined || this.current) return;
    this.current = await this.newDynamicKey();
    this.next = await this.newDynamicKey();
    this.lastRotation = Date.now();
    this.changed();
  }

  /** Nothing to stop: the service owns the rotation timer. */
  stop(): void {}

  /** True when dynamic keys are on. */
  get rotating(): boolean {
    return this.intervalMs !== undefined;
  }

  /**
   * Rotates: the next key (already published) starts signing, a new next key is published, the previous key
   * stops signing, and retired keys past their retention are withdrawn.
   */
  async rotate(): Promise<void> {
    if (this.intervalMs === undefined) return;
    const fresh = await this.newDynamicKey();
    const now = Date.now();
    if (this.current) {
      this.current.signingUntil = now;
      this.retired.push(this.current);
    }
    this.current = this.next ?? fresh;
    this.next = this.current === fresh ? await this.newDynamicKey() : fresh;
    this.lastRotation = now;
    const keepMs = this.intervalMs + 2 * this.validityMs;
    this.retired = this.retired.filter((k) => {
      const keep = now < (k.signingUntil ?? now) + keepMs || now < k.maxExpMs;
      if (!keep) {
        k.verification.active = false;
        this.byKid.delete(k.verification.kid);
      }
      return keep;
    });
    this.changed();
  }

  /** The key that signs: the static key, or the current dynamic key. */
  signer(useStaticKey: boolean): JwsSigner {
    return (useStaticKey ? this.staticKey : (this.current ?? this.staticKey))
      .signer;
  }

  /** Records that a token expiring at `expMs` was signed with `kid` (keeps the key published long enough). */
  noteSigned(kid: string | undefined, expMs: number): void {
    const k = kid === undefined ? undefined : this.byKid.get(kid);
    if (k && expMs > k.maxExpMs) k.maxExpMs = expMs;
  }

  /** The key with this `kid` (for verifying this service's own tokens). */
  get(kid: string): VerificationKey | undefined {
    return this.byKid.get(kid)?.verification;
  }

  /** The public JWKS: every key a verifier may meet (static, current, next, retired but retained). */
  jwks(): { keys: PublishedJwk[] } {
    return (this.jwksCache ??= {
      keys: [this.staticKey, this.current, this.next, ...this.retired]
        .filter((k): k is RingKey => k !== undefined)
        .map((k) => k.jwk),
    });
  }

  /** Seconds until the published key set changes (the next rotation); `undefined` when it never changes. */
  secondsUntilChange(): number | undefined {
    if (this.intervalMs === undefined) return undefined;
    return Math.max(
      0,
      Math.ceil((this.lastRotation + this.intervalMs - Date.now()) / 1000),
    );
  }

  state(): KeyRingState {
    const signer = this.signer(this.intervalMs === undefined);
    if (this.intervalMs === undefined) {
      return { signingKid: signer.kid, signingWith: 'static' };
    }
    const next = this.lastRotation + this.intervalMs;
    return {
      signingKid: signer.kid,
      signingWith: this.current ? 'dynamic' : 'static',
      lastRotationAt: this.lastRotation,
      nextRotationAt: next,
      rotationOnSchedule:
        this.current !== undefined && Date.now() <= next + ROTATION_SLACK_MS,
    };
  }

  private changed(): void {
    this.jwksCache = undefined;
  }

  private async newDynamicKey(): Promise<RingKey> {
    const privateKey = await generateServiceKey(this.algorithm);
    const ms = Math.max(Date.now(), this.lastKidMs + 1);
    this.lastKidMs = ms;
    const key = makeRingKey('dynamic', `d-${ms}`, privateKey, this.algorithm);
    this.byKid.set(key.verification.kid, key);
    return key;
  }
}

/** A ring key from a private key: its signer, its verification key and its public JWK, each made once. */
export function makeRingKey(
  kind: 'static' | 'dynamic',
  kid: string,
  privateKey: KeyObject,
  algorithm: ServiceTokenAlgorithm,
): RingKey {
  const signer = new JwsSigner({ algorithm, key: privateKey, kid });
  const publicKey = createPublicKey(privateKey);
  return {
    kind,
    signer,
    verification: { kid, alg: algorithm, key: publicKey, active: true },
    jwk: Object.freeze(publicJwk(publicKey, algorithm, kid)) as PublishedJwk,
    maxExpMs: 0,
  };
}
