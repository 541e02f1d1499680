import { Logger } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { JwsSigner } from '../../../common/jws-signer.js';
import type { VerificationKey } from '../../verifying/jwt-verifier.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../../errors.js';
import type {
  ResolvedServiceTokenOptions,
  ServiceTokenAlgorithm,
} from '../../interfaces/service-token-options.interface.js';
import {
  type KeyRingState,
  makeRingKey,
  type PublishedJwk,
  ROTATION_SLACK_MS,
  type RingKey,
  ringSettings,
  type ServiceKeyRing,
  thumbprint,
} from '../service-token-key-ring.js';
import { generateServiceKey } from '../../service-token.options.js';
import { errorText } from '../../http/printable.js';
import {
  ATTR,
  counterIn,
  type CounterSeries,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../../../common/telemetry.js';
import {
  KEY_STORE_SYNC_MS,
  publicationLeadSeconds,
} from './publication-lead.js';
import { deriveSealingKey, openKey, sealKey } from './sealed-key.js';
import type { ServiceTokenKeyStore } from './service-token-key-store.interface.js';

const STATIC_FIELD = 'static';
const DEVELOPMENT_SEALING_SECRET =
  'nest-jwt-issuer development key store (no protection)';

interface StoredKey extends RingKey {
  readonly field: string;
  /** Rotation slot (dynamic keys): the key signs during `[slot × interval, (slot + 1) × interval)`. */
  readonly slot: number;
  /** When this replica may take the key as published by every replica (ms). */
  readonly publishedMs: number;
  /** The record as read from the store (kept to write it back if the store loses it). */
  readonly raw: string;
}

/**
 * The key ring of a service whose replicas share one store. Time is cut in slots of one rotation interval; the key
 * of slot `n` signs during slot `n` on every replica, so every replica uses the same `kid`s in the same order. The
 * keys of the current and next slot are claimed with an atomic set-if-absent (one key per slot for the whole
 * fleet, however many timers fire at once), and a key signs only once it has been in the store for the publication
 * lead ({@link publicationLeadSeconds}). Private keys reach the store sealed (AES-256-GCM under a key derived from the
 * static private key). Requests only read local state: the store is read once a second in the background, and a
 * store that is down or slow leaves the ring as it was (signing goes on with the keys already shared, falling back
 * to the static key when they run out).
 */
export class SharedServiceTokenKeyRing implements ServiceKeyRing {
  readonly issuer: string;
  readonly selfRotating = true;
  private readonly logger = new Logger('ServiceTokenKeyStore');
  private readonly ring: string;
  private readonly algorithm: ServiceTokenAlgorithm;
  private readonly intervalMs: number | undefined;
  private readonly validityMs: number;
  private readonly leadMs: number;
  private readonly sealingKey: Buffer;
  /** Development without a configured key: the static key comes from the store (this one is offered). */
  private readonly offeredStatic: KeyObject | undefined;
  private staticKey: RingKey | undefined;
  private records = new Map<string, StoredKey>();
  /** Keys replaced in the store while still published here (a store wiped and refilled by another replica). */
  private superseded: StoredKey[] = [];
  private byKid = new Map<string, RingKey>();
  private readOnce = false;
  private storeDown = false;
  private readonly unreadable = new Set<string>();
  private selection: { key: RingKey; untilMs: number } | undefined;
  private jwksCache: { keys: PublishedJwk[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  /** The private key this replica offers for the next slot it finds empty (generated off the sync path). */
  private spareKey: KeyObject | undefined;
  private spareInflight = false;
  private started: Promise<void> | undefined;
  private startedAt = Date.now();
  private lastSyncAt: number | undefined;
  private syncFailures = 0;
  private lastSyncError: string | undefined;
  private readonly store: ServiceTokenKeyStore;
  private readonly rotations: CounterSeries;

  /** @param telemetry - where store calls and rotations are counted (internal: the module passes its own). */
  constructor(
    options: ResolvedServiceTokenOptions,
    store: ServiceTokenKeyStore,
    telemetry?: JwtIssuerTelemetry,
  ) {
    this.store = countedStore(store, telemetry);
    this.rotations = counterIn(telemetry, JWT_ISSUER_INSTRUMENTS.keyRotations, {
      [ATTR.outcome]: 'success',
    });
    ({
      issuer: this.issuer,
      algorithm: this.algorithm,
      intervalMs: this.intervalMs,
      validityMs: this.validityMs,
    } = ringSettings(options));
    this.leadMs = publicationLeadSeconds(options.jwksCooldown, true) * 1000;
    // Replicas share a ring only when they agree on everything that shapes it.
    this.ring = `nest-jwt-issuer:service-keys:${options.algorithm}:${this.intervalMs ?? 0}:${options.name}:${options.issuer}`;
    if (options.developmentKey) {
      this.offeredStatic = options.privateKey;
      this.sealingKey = deriveSealingKey(DEVELOPMENT_SEALING_SECRET, this.ring);
    } else {
      this.setStatic(options.privateKey);
      this.sealingKey = deriveSealingKey(options.privateKey, this.ring);
    }
  }

  get rotating(): boolean {
    return this.intervalMs !== undefined;
  }

  /**
   * Reads the ring (claiming the missing keys) and starts the background sync. When the store cannot be reached,
   * the replica starts with its configured static key and catches up later.
   *
   * @throws {JwtIssuerError} `KEY_STORE_UNAVAILABLE` when the store cannot be reached and there is no configured
   * static key to start with (development).
   */
  start(): Promise<void> {
    if (this.started === undefined) this.startedAt = Date.now();
    this.prepareSpare();
    return (this.started ??= this.sync().then(() => {
      if (!this.staticKey) {
        throw new JwtIssuerError(
          JwtIssuerErrorCode.KEY_STORE_UNAVAILABLE,
          `the key store could not be read, and without service.privateKey the replicas' shared development key lives there`,
        );
      }
      this.timer = setInterval(() => void this.sync(), KEY_STORE_SYNC_MS);
      this.timer.unref();
    }));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the store now (rotation itself follows the fleet's schedule). */
  rotate(): Promise<void> {
    return this.sync();
  }

  signer(useStaticKey: boolean): JwsSigner {
    return (useStaticKey || !this.rotating ? this.static() : this.current())
      .signer;
  }

  /** Nothing to record: retention is a fixed time after a slot ends (`interval + 2 × tokenValidity`). */
  noteSigned(): void {}

  get(kid: string): VerificationKey | undefined {
    return this.byKid.get(kid)?.verification;
  }

  jwks(): { keys: PublishedJwk[] } {
    this.prune(Date.now());
    return (this.jwksCache ??= {
      keys: [this.staticKey, ...this.dynamicKeys(), ...this.superseded]
        .filter((k): k is RingKey => k !== undefined)
        .map((k) => k.jwk),
    });
  }

  secondsUntilChange(): number | undefined {
    if (this.intervalMs === undefined) return undefined;
    const now = Date.now();
    return Math.ceil((this.intervalMs - (now % this.intervalMs)) / 1000);
  }

  /** Starts generating the next spare key (a failure only means another try on the next claim). */
  private prepareSpare(): void {
    if (this.intervalMs === undefined || this.spareKey || this.spareInflight) {
      return;
    }
    this.spareInflight = true;
    generateServiceKey(this.algorithm)
      .then((key) => (this.spareKey = key))
      .catch(() => undefined)
      .finally(() => (this.spareInflight = false));
  }

  /** One background round: never rejects; logs once when the store goes away and once when it is back. */
  private sync(): Promise<void> {
    return (this.inflight ??= this.syncOnce()
      .then(
        () => {
          this.lastSyncAt = Date.now();
          this.syncFailures = 0;
          this.lastSyncError = undefined;
          if (this.storeDown) {
            this.storeDown = false;
            this.logger.log(
              `Key store reachable again: ring caught up (${this.records.size} shared key(s))`,
            );
          }
        },
        (e: unknown) => {
          this.syncFailures++;
          this.lastSyncError = errorText(e);
          if (!this.storeDown) {
            this.storeDown = true;
            this.logger.warn(
              `Key store unreachable (${errorText(e)}): signing with the ${this.records.size} key(s) already shared, serving the known JWKS, retrying every ${KEY_STORE_SYNC_MS / 1000} s`,
            );
          }
        },
      )
      .finally(() => {
        this.inflight = undefined;
        this.prune(Date.now());
      }));
  }

  private async syncOnce(): Promise<void> {
    let stored = await this.store.getAll(this.ring);
    this.apply(stored);
    let wrote = false;
    // Write back what the store lost (a restarted Redis without persistence): the ring heals from memory.
    for (const [field, key] of this.records) {
      if (stored[field] === undefined && this.keeps(key, Date.now())) {
        wrote =
          (await this.store.setIfAbsent(this.ring, field, key.raw)) || wrote;
      }
    }
    if (this.offeredStatic && stored[STATIC_FIELD] === undefined) {
      await this.claim(
        STATIC_FIELD,
        this.offeredStatic,
        `s-${thumbprint(this.offeredStatic)}`,
      );
      wrote = true;
    }
    if (this.intervalMs !== undefined) {
      const n = Math.floor(Date.now() / this.intervalMs);
      for (const slot of [n, n + 1]) {
        const field = `d:${slot}`;
        if (stored[field] !== undefined || this.records.has(field)) continue;
        // Claims use a key made in advance, so a round never waits on key generation (a replica that loses keeps
        // its key for the next slot); without one yet, another replica or the next round claims the slot.
        const key = this.spareKey;
        if (key === undefined) continue;
        // A key for the slot under way is worth making only if it can sign for half of it (a fresh fleet, or one
        // back from a long outage); otherwise the previous key (or the static key) bridges to the next slot.
        if (
          slot === n &&
          Date.now() + this.leadMs > (n + 0.5) * this.intervalMs
        ) {
          continue;
        }
        if (await this.claim(field, key, `d-${Date.now()}`)) {
          this.spareKey = undefined;
          this.prepareSpare();
        }
        wrote = true;
      }
    }
    if (wrote) {
      stored = await this.store.getAll(this.ring);
      this.apply(stored);
    }
    const withdrawn = Object.keys(stored).filter(
      (f) =>
        f !== STATIC_FIELD && !this.records.has(f) && !this.unreadable.has(f),
    );
    await this.store.delete(this.ring, withdrawn);
  }

  /**
   * Offers a key for a field; of replicas offering at once, one wins and every replica then reads the winner's.
   * Resolves to `true` when this replica's offer won.
   */
  private async claim(
    field: string,
    key: KeyObject,
    kid: string,
  ): Promise<boolean> {
    const created = Date.now();
    return this.store.setIfAbsent(
      this.ring,
      field,
      sealKey(this.sealingKey, this.ring, field, kid, created, key),
    );
  }

  /** Takes in the records just read: new ones are opened once, expired ones dropped. */
  private apply(stored: Record<string, string>): void {
    const now = Date.now();
    const firstRead = !this.readOnce;
    let changed = false;
    for (const [field, raw] of Object.entries(stored)) {
      const known = this.records.get(field);
      if (known?.raw === raw) continue;
      const slot =
        field === STATIC_FIELD ? -1 : /^d:(\d{1,15})$/.exec(field)?.[1];
      if (slot === undefined) continue;
      if (field === STATIC_FIELD && !this.offeredStatic) continue;
      let opened: ReturnType<typeof openKey>;
      try {
        opened = openKey(this.sealingKey, this.ring, field, raw);
        this.unreadable.delete(field);
      } catch (e) {
        if (!this.unreadable.has(field)) {
          this.unreadable.add(field);
          this.logger.error(
            `Key store record '${field}' cannot be opened (${(e as Error).message}): every replica must share service.privateKey; ignoring it`,
          );
        }
        continue;
      }
      if (field === STATIC_FIELD) {
        if (!this.staticKey) this.setStatic(opened.privateKey);
        this.records.set(field, {
          ...this.staticKey!,
          field,
          slot: -1,
          publishedMs: opened.created,
          raw,
        });
        continue;
      }
      // Published from when the store took it: a replica sees a record at most one sync after that, so "one sync
      // before this read returned" is a safe bound even for a write the store took late (a writer whose command
      // timed out while Redis was paused). A replica's first read trusts the writer's clock: the keys it finds then
      // have been served by the others for as long as they say.
      const publishedMs = firstRead
        ? Math.min(opened.created, now)
        : Math.max(opened.created, now - KEY_STORE_SYNC_MS);
      const key: StoredKey = {
        ...makeRingKey(
          'dynamic',
          opened.kid,
          opened.privateKey,
          this.algorithm,
        ),
        field,
        slot: Number(slot),
        publishedMs,
        raw,
      };
      if (!this.keeps(key, now)) continue;
      if (known) this.superseded.push(known);
      this.records.set(field, key);
      this.byKid.set(key.verification.kid, key);
      changed = true;
    }
    this.readOnce = true;
    if (changed) this.changed();
  }

  /** Drops the keys past their retention (the same instant on every replica). */
  private prune(now: number): void {
    let changed = false;
    for (const [field, key] of this.records) {
      if (field !== STATIC_FIELD && !this.keeps(key, now)) {
        this.records.delete(field);
        changed = true;
      }
    }
    const superseded = this.superseded.filter((k) => this.keeps(k, now));
    if (superseded.length !== this.superseded.length) changed = true;
    this.superseded = superseded;
    if (!changed) return;
    const live = new Set(
      [...this.records.values(), ...this.superseded].map(
        (k) => k.verification.kid,
      ),
    );
    for (const [kid, key] of this.byKid) {
      if (key !== this.staticKey && !live.has(kid)) {
        key.verification.active = false;
        this.byKid.delete(kid);
      }
    }
    this.changed();
  }

  /**
   * A slot's key stays published until `interval + 2 × tokenValidity` after its slot ended: a replica signs with it
   * at most one interval past its slot (when the next key is late), and its tokens live `tokenValidity`.
   */
  private keeps(key: StoredKey, now: number): boolean {
    if (key.slot < 0 || this.intervalMs === undefined) return true;
    return now < (key.slot + 2) * this.intervalMs + 2 * this.validityMs;
  }

  private dynamicKeys(): StoredKey[] {
    return [...this.records.values()]
      .filter((k) => k.slot >= 0)
      .toSorted((a, b) => a.slot - b.slot);
  }

  /**
   * The key that signs now: the newest key whose slot has begun, that every replica has published for the lead,
   * and whose slot ended less than one interval ago; otherwise the static key. Cached until the answer can change.
   */
  private current(): RingKey {
    const now = Date.now();
    const sel = this.selection;
    if (sel !== undefined && now < sel.untilMs) return sel.key;
    const interval = this.intervalMs!;
    let untilMs = (Math.floor(now / interval) + 1) * interval;
    let best: StoredKey | undefined;
    for (const k of this.records.values()) {
      if (k.slot < 0) continue;
      const from = Math.max(k.slot * interval, k.publishedMs + this.leadMs);
      const to = (k.slot + 2) * interval;
      if (now < from) untilMs = Math.min(untilMs, from);
      else if (now < to && (best === undefined || k.slot > best.slot)) best = k;
    }
    if (best) untilMs = Math.min(untilMs, (best.slot + 2) * interval);
    const key = best ?? this.static();
    if (best !== undefined && sel !== undefined && sel.key !== best) {
      this.rotations.value++; // a new shared key starts signing here
    }
    this.selection = { key, untilMs };
    return key;
  }

  state(): KeyRingState {
    const keyStore = {
      lastSyncAt: this.lastSyncAt,
      consecutiveFailures: this.syncFailures,
      lastError: this.lastSyncError,
    };
    let signer: RingKey;
    try {
      signer = this.rotating ? this.current() : this.static();
    } catch (e) {
      return {
        signingKid: undefined,
        signingError: errorText(e),
        signingWith: undefined,
        keyStore,
      };
    }
    const signingWith = signer === this.staticKey ? 'static' : 'dynamic';
    if (this.intervalMs === undefined) {
      return { signingKid: signer.signer.kid, signingWith, keyStore };
    }
    const now = Date.now();
    const slot = Math.floor(now / this.intervalMs);
    return {
      signingKid: signer.signer.kid,
      signingWith,
      lastRotationAt: slot * this.intervalMs,
      nextRotationAt: (slot + 1) * this.intervalMs,
      // A fresh fleet bridges with the static key until its first shared key is published everywhere.
      rotationOnSchedule:
        signingWith === 'dynamic' ||
        now <
          this.startedAt + this.intervalMs + this.leadMs + ROTATION_SLACK_MS,
      keyStore,
    };
  }

  private static(): RingKey {
    if (!this.staticKey) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.KEY_STORE_UNAVAILABLE,
        'the shared development key has not been read from the key store yet',
      );
    }
    return this.staticKey;
  }

  private setStatic(privateKey: KeyObject): void {
    this.staticKey = makeRingKey(
      'static',
      `s-${thumbprint(privateKey)}`,
      privateKey,
      this.algorithm,
    );
    this.byKid.set(this.staticKey.verification.kid, this.staticKey);
    this.changed();
  }

  private changed(): void {
    this.jwksCache = undefined;
    this.selection = undefined;
  }
}

/** The store, each call counted by operation and outcome (the series are made once, here). */
function countedStore(
  store: ServiceTokenKeyStore,
  telemetry: JwtIssuerTelemetry | undefined,
): ServiceTokenKeyStore {
  if (telemetry === undefined) return store;
  const spec = JWT_ISSUER_INSTRUMENTS.keyStoreOperations;
  const counters = (operation: string) => ({
    ok: telemetry.counter(spec, {
      [ATTR.operation]: operation,
      [ATTR.outcome]: 'success',
    }),
    failed: telemetry.counter(spec, {
      [ATTR.operation]: operation,
      [ATTR.outcome]: 'failure',
    }),
  });
  const getAll = counters('get_all');
  const setIfAbsent = counters('set_if_absent');
  const remove = counters('delete');
  return {
    getAll: (ring) => counted(getAll, () => store.getAll(ring)),
    setIfAbsent: (ring, field, value) =>
      counted(setIfAbsent, () => store.setIfAbsent(ring, field, value)),
    delete: (ring, fields) => counted(remove, () => store.delete(ring, fields)),
  };
}

async function counted<T>(
  c: { ok: CounterSeries; failed: CounterSeries },
  call: () => Promise<T>,
): Promise<T> {
  try {
    const result = await call();
    c.ok.value++;
    return result;
  } catch (e) {
    c.failed.value++;
    throw e;
  }
}
