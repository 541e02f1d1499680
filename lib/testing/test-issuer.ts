import type { KeyObject } from 'node:crypto';
import type { PrivateKeyInput } from '../common/keys.js';
import { ConfigProblems } from '../config/config-problems.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import {
  generateServiceKey,
  type KeySource,
  makeRingKey,
  normalizeServiceTokenOptions,
  ownTokenClaims,
  type PublishedJwk,
  type ServiceTokenAlgorithm,
  ServiceTokenService,
  type ServiceTokenSource,
  thumbprint,
  type TrustedIssuerOptions,
  type VerificationKey,
} from '../service-token/index.js';
import { TestIssuerHttp } from './test-issuer-http.js';

/**
 * The refused tokens a {@link TestIssuer} mints by name, each refused by `ServiceTokenGuard` (401):
 * - `expired`: `exp` an hour ago.
 * - `notYetValid`: `nbf` an hour ahead.
 * - `wrongIssuer`: signed with the issuer's key, `iss` an issuer no one trusts.
 * - `wrongAudience`: `aud` no application expects (refused where the application sets `expectedAudience`).
 * - `noSource`: no `source` claim, as an end-user token.
 * - `tamperedSignature`: one bit of the signature flipped.
 * - `unknownKid`: signed by another key, with that key's `kid` (absent from the JWKS).
 * - `algNone`: an unsigned token, `alg: "none"`.
 */
export const BAD_TOKEN_KINDS = [
  'expired',
  'notYetValid',
  'wrongIssuer',
  'wrongAudience',
  'noSource',
  'tamperedSignature',
  'unknownKid',
  'algNone',
] as const;

/** One of {@link BAD_TOKEN_KINDS}. */
export type BadTokenKind = (typeof BAD_TOKEN_KINDS)[number];

/** The `iss` of `wrongIssuer` tokens. */
export const UNTRUSTED_ISSUER = 'https://untrusted.issuer.invalid';
/** The `aud` of `wrongAudience` tokens. */
export const WRONG_AUDIENCE = 'nest-jwt-issuer-testing:wrong-audience';

/** Options of {@link TestIssuer.start}. */
export interface TestIssuerOptions {
  /** The service name: the `sub` of its tokens. @default 'test-service' */
  name?: string;
  /** Signing algorithm. @default 'ES256' */
  algorithm?: ServiceTokenAlgorithm;
  /** `aud` of its tokens (one value or several), as `service.audience`. @default no `aud` */
  audience?: string | string[];
  /** Its key (as `service.privateKey`: PEM, JWK, file, `KeyObject`). @default a fresh key per issuer */
  privateKey?: PrivateKeyInput;
  /** Lifetime of its tokens, in seconds. @default 300 */
  tokenValidity?: number;
  /**
   * Serve the JWKS and the OpenID configuration over HTTP on 127.0.0.1 (a free port), so the application under test
   * fetches them as it would from a real neighbour. `false`: no server; the keys are handed over with
   * {@link TestIssuer.keySource} and {@link TestIssuer.jwks}. @default true
   */
  serve?: boolean;
  /** Time a request to its endpoints may take to arrive, in seconds. @default 5 */
  requestTimeout?: number;
}

/** Options of {@link TestIssuer.token}. */
export interface TestTokenOptions {
  /** Lifetime in seconds. @default the issuer's `tokenValidity` */
  validitySeconds?: number;
}

/** Options of {@link TestIssuer.rotate}. */
export interface TestIssuerRotateOptions {
  /**
   * Withdraw the previous keys from the JWKS (a neighbour that rotated abruptly); by default they stay published, as
   * a well-behaved issuer keeps them until its tokens expire. @default false
   */
  retirePrevious?: boolean;
}

const JWKS_PATH = '/.well-known/jwks.json';
const OPENID_PATH = '/.well-known/openid-configuration';

const silentLogger = {
  log() {},
  error() {},
  warn() {},
};

function fail(message: string): never {
  throw new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `TestIssuer: ${message}`,
  );
}

const base64urlJson = (o: object): string =>
  Buffer.from(JSON.stringify(o)).toString('base64url');

/** One key of the issuer: the real `ServiceTokenService` of a service with that key. */
interface Generation {
  service: ServiceTokenService;
  kid: string;
}

/**
 * **For tests.** A neighbour service that issues service tokens exactly as `ServiceTokenService` does (its claims
 * layout, its signer, its `kid`), with its own key, and serves its JWKS and OpenID configuration on 127.0.0.1 so the
 * application under test runs its real remote-JWKS path. It mints valid tokens with any claims, the refused ones by
 * name ({@link BAD_TOKEN_KINDS}), rotates its key, goes down and comes back. `close()` frees everything.
 *
 * @example
 * const billing = await TestIssuer.start({ name: 'billing' });
 * // point the app at it: overrideServiceTokenOptions(builder, { trustedIssuers: [billing.trustedIssuer] })
 * await fetch(`${url}/internal/invoices`, { headers: billing.headers() }); // 200
 * await fetch(`${url}/internal/invoices`, { headers: billing.headers(billing.badToken('expired')) }); // 401
 * await billing.close();
 */
export class TestIssuer {
  /** The service name (`sub` of its tokens). */
  readonly name: string;
  /** Its `iss`: `http://127.0.0.1:<port>` when it serves, `https://<name>.issuer.invalid` otherwise. */
  readonly issuer: string;
  /** Its signing algorithm. */
  readonly algorithm: ServiceTokenAlgorithm;
  private generations: Generation[];
  private retired: Generation[] = [];
  private readonly stranger: ReturnType<typeof makeRingKey>;
  private readonly audience: string[] | undefined;
  private readonly tokenValidity: number;
  private closed = false;
  private isUp: boolean;

  private constructor(
    options: {
      name: string;
      issuer: string;
      algorithm: ServiceTokenAlgorithm;
      audience: string[] | undefined;
      tokenValidity: number;
    },
    first: Generation,
    stranger: KeyObject,
    private readonly http: TestIssuerHttp | undefined,
  ) {
    this.name = options.name;
    this.issuer = options.issuer;
    this.algorithm = options.algorithm;
    this.audience = options.audience;
    this.tokenValidity = options.tokenValidity;
    this.generations = [first];
    this.stranger = makeRingKey(
      'static',
      `s-${thumbprint(stranger)}`,
      stranger,
      options.algorithm,
    );
    this.isUp = http !== undefined;
  }

  /**
   * Creates a test issuer with a fresh key and, unless `serve: false`, starts its HTTP server on 127.0.0.1.
   * @throws {JwtIssuerConfigError} for invalid options (the module's own `service` section checks).
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an invalid `requestTimeout`.
   */
  static async start(options: TestIssuerOptions = {}): Promise<TestIssuer> {
    const name = options.name ?? 'test-service';
    const algorithm = options.algorithm ?? 'ES256';
    const requestTimeout = options.requestTimeout ?? 5;
    if (
      typeof requestTimeout !== 'number' ||
      !(requestTimeout > 0 && requestTimeout <= 3600)
    ) {
      fail('requestTimeout must be a number of seconds in (0, 3600]');
    }
    let http: TestIssuerHttp | undefined;
    // A host name made of the service name (letters, digits and dashes), under the reserved .invalid TLD.
    const host =
      name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '') || 'test-service';
    let issuer = `https://${host}.issuer.invalid`;
    const documents = new Map<
      string,
      { body(): unknown; cacheControl(): string }
    >();
    if (options.serve !== false) {
      http = new TestIssuerHttp(documents, {
        requestTimeoutMs: requestTimeout * 1000,
      });
      issuer = `http://127.0.0.1:${await http.listen()}`;
    }
    try {
      const section = {
        name,
        issuer,
        algorithm,
        audience: options.audience,
        tokenValidity: options.tokenValidity ?? 300,
        privateKey: options.privateKey ?? (await generateServiceKey(algorithm)),
        publishJwks: false,
      };
      const first = await generation(section);
      const made = new TestIssuer(
        {
          name,
          issuer,
          algorithm,
          audience:
            options.audience === undefined
              ? undefined
              : [options.audience].flat(),
          tokenValidity: section.tokenValidity,
        },
        first,
        await generateServiceKey(algorithm),
        http,
      );
      documents.set(JWKS_PATH, {
        body: () => made.jwks(),
        // As the module's own route.
        cacheControl: () =>
          `max-age=${made.generations[0].service.jwksMaxAge()}, must-revalidate`,
      });
      documents.set(OPENID_PATH, {
        body: () => made.openIdConfiguration(),
        cacheControl: () => 'max-age=3600, must-revalidate',
      });
      return made;
    } catch (e) {
      await http?.close();
      throw e;
    }
  }

  /** Absolute URL of its JWKS. */
  get jwksUri(): string {
    return `${this.issuer}${JWKS_PATH}`;
  }

  /** The `kid` its tokens carry now. */
  get kid(): string {
    return this.generations[0].kid;
  }

  /**
   * The `service.trustedIssuers` entry that makes an application accept its tokens.
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` when it does not serve its JWKS (`serve: false`).
   */
  get trustedIssuer(): TrustedIssuerOptions {
    if (!this.http) {
      fail(
        'this issuer does not serve its JWKS (serve: false): verify with its keySource instead',
      );
    }
    return {
      issuer: this.issuer,
      jwksUri: this.jwksUri,
      algorithms: [this.algorithm],
    };
  }

  /** `{ JWT_ISSUER_SERVICE_TRUSTED_ISSUERS }` trusting this issuer (see {@link testIssuersEnv} for several). */
  get env(): { JWT_ISSUER_SERVICE_TRUSTED_ISSUERS: string } {
    return testIssuersEnv(this);
  }

  /** The public JWKS it serves: its current key, and previous keys unless retired. */
  jwks(): { keys: PublishedJwk[] } {
    return {
      keys: this.generations.flatMap((g) => g.service.getJwks().keys),
    };
  }

  /** The OpenID configuration it serves (`issuer`, `jwks_uri`), as `ServiceTokenService` publishes it. */
  openIdConfiguration(): ReturnType<
    ServiceTokenService['getOpenIdConfiguration']
  > {
    return this.generations[0].service.getOpenIdConfiguration();
  }

  /**
   * Its keys for a verifier in the same process (no HTTP): a `KeySource` for `ServiceTokenVerifier`'s `localKeys` or
   * `JwtVerifier`'s `sources`. Follows rotations.
   */
  get keySource(): KeySource {
    return {
      issuer: this.issuer,
      get: (kid: string): VerificationKey | undefined => {
        for (const g of this.generations) {
          const key = g.service.keyRing.get(kid);
          if (key) return key;
        }
        return undefined;
      },
    };
  }

  /**
   * Requests its server answered on `path`, its JWKS or OpenID configuration path (any method, the query ignored).
   * @default the JWKS path
   */
  requests(path: string = JWKS_PATH): number {
    return this.http?.hits.get(path) ?? 0;
  }

  /**
   * A service token as `ServiceTokenService.getToken()` writes it (`source: "microservice"`, `iss`, `sub`, `aud`
   * when configured, `iat`, `exp`, `jti`; `kid` in the header), with `claims` merged over those: any claim can be
   * added or changed, and a claim set to `undefined` is left out.
   *
   * @example
   * billing.token({ scope: 'invoices:read' });
   * billing.token({ sub: 'orders' }, { validitySeconds: 30 });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for claims that are not a plain object or an invalid validity.
   */
  token(
    claims: Record<string, unknown> = {},
    options: TestTokenOptions = {},
  ): string {
    this.assertOpen();
    return this.generations[0].service.keyRing
      .signer(true)
      .sign(this.claims(claims, options.validitySeconds));
  }

  /** `"Bearer <token>"`: a new {@link token} with these claims, or the given token. */
  authorization(tokenOrClaims?: string | Record<string, unknown>): string {
    return `Bearer ${typeof tokenOrClaims === 'string' ? tokenOrClaims : this.token(tokenOrClaims)}`;
  }

  /**
   * `{ authorization: 'Bearer …' }` for `fetch` (`headers`) or supertest (`.set(...)`): a new token with these
   * claims, or the given token.
   *
   * @example
   * await request(app.getHttpServer()).get('/internal/invoices').set(billing.headers()).expect(200);
   * await fetch(url, { headers: billing.headers(billing.badToken('algNone')) });
   */
  headers(tokenOrClaims?: string | Record<string, unknown>): {
    authorization: string;
  } {
    return { authorization: this.authorization(tokenOrClaims) };
  }

  /**
   * A token source for the client helpers of `nest-jwt-issuer` (`withServiceToken`, `createServiceTokenFetch`):
   * they then send this issuer's tokens (a new one per call), or always the given token.
   *
   * @example
   * // a ClientProxy message on NATS, and gRPC metadata
   * new NatsRecordBuilder(data).setHeaders(await withServiceToken(billing.caller(), headers())).build();
   * await withServiceToken(billing.caller(billing.badToken('expired')), new Metadata());
   */
  caller(tokenOrClaims?: string | Record<string, unknown>): ServiceTokenSource {
    return {
      authorizationHeader: () =>
        Promise.resolve(this.authorization(tokenOrClaims)),
    };
  }

  /**
   * A token the guard refuses, by name (see {@link BAD_TOKEN_KINDS}); `claims` are merged as in {@link token}.
   *
   * @example
   * for (const kind of BAD_TOKEN_KINDS) expect((await call(billing.badToken(kind))).status).toBe(401);
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an unknown kind.
   */
  badToken(kind: BadTokenKind, claims: Record<string, unknown> = {}): string {
    this.assertOpen();
    const now = Math.floor(Date.now() / 1000);
    const signer = this.generations[0].service.keyRing.signer(true);
    switch (kind) {
      case 'expired':
        return signer.sign(
          this.claims({ iat: now - 7200, exp: now - 3600, ...claims }),
        );
      case 'notYetValid':
        return signer.sign(this.claims({ nbf: now + 3600, ...claims }));
      case 'wrongIssuer':
        return signer.sign(this.claims({ iss: UNTRUSTED_ISSUER, ...claims }));
      case 'wrongAudience':
        return signer.sign(this.claims({ aud: WRONG_AUDIENCE, ...claims }));
      case 'noSource':
        return signer.sign(this.claims({ source: undefined, ...claims }));
      case 'tamperedSignature': {
        const [h, p, s] = this.token(claims).split('.');
        const bytes = Buffer.from(s, 'base64url');
        bytes[0] ^= 0x01;
        return `${h}.${p}.${bytes.toString('base64url')}`;
      }
      case 'unknownKid':
        return this.stranger.signer.sign(this.claims(claims));
      case 'algNone': {
        const header = { alg: 'none', typ: 'JWT', kid: this.kid };
        return `${base64urlJson(header)}.${base64urlJson(this.claims(claims))}.`;
      }
      default:
        return fail(
          `unknown bad token kind '${String(kind).slice(0, 32)}' (known: ${BAD_TOKEN_KINDS.join(', ')})`,
        );
    }
  }

  /**
   * Rotates its key: a new key signs from now on and is published; the previous keys stay published unless
   * `retirePrevious`. An application verifying with the JWKS finds the new key on its next fetch (a token with an
   * unknown `kid` triggers one, after the application's `jwksCooldown`). Returns the new `kid`.
   */
  async rotate(options: TestIssuerRotateOptions = {}): Promise<string> {
    this.assertOpen();
    const next = await generation({
      name: this.name,
      issuer: this.issuer,
      algorithm: this.algorithm,
      audience: this.audience,
      tokenValidity: this.tokenValidity,
      privateKey: await generateServiceKey(this.algorithm),
      publishJwks: false,
    });
    if (options.retirePrevious) {
      this.retired.push(...this.generations);
      for (const g of this.generations) {
        for (const k of g.service.getJwks().keys) {
          const key = g.service.keyRing.get(k.kid);
          if (key) key.active = false;
        }
      }
      this.generations = [next];
    } else {
      this.generations = [next, ...this.generations];
    }
    return next.kid;
  }

  /** True while its HTTP server listens. */
  get serving(): boolean {
    return this.isUp;
  }

  /**
   * Takes its HTTP server down: the port is closed and open connections dropped, so fetching its JWKS fails as
   * for a neighbour that is unreachable. Tokens can still be minted.
   */
  async down(): Promise<void> {
    this.assertOpen();
    this.requireHttp();
    this.isUp = false;
    await this.http!.close();
  }

  /**
   * Brings its HTTP server back, on the same port.
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` when the port was taken meanwhile.
   */
  async up(): Promise<void> {
    this.assertOpen();
    this.requireHttp();
    await this.http!.listen();
    this.isUp = true;
  }

  /** Stops its server and drops its keys; further calls throw. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isUp = false;
    await this.http?.close();
    for (const g of [...this.generations, ...this.retired]) {
      g.service.onModuleDestroy();
    }
  }

  private claims(
    overrides: Record<string, unknown>,
    validitySeconds?: number,
  ): Record<string, unknown> {
    if (
      typeof overrides !== 'object' ||
      overrides === null ||
      Array.isArray(overrides)
    ) {
      fail('claims must be a plain object');
    }
    const validity = validitySeconds ?? this.tokenValidity;
    if (!Number.isInteger(validity) || validity <= 0) {
      fail('validitySeconds must be a positive integer');
    }
    const iat = Math.floor(Date.now() / 1000);
    return {
      ...ownTokenClaims(
        { issuer: this.issuer, name: this.name, audience: this.audience },
        iat,
        validity,
      ),
      ...overrides,
    };
  }

  private requireHttp(): void {
    if (!this.http) fail('this issuer does not serve its JWKS (serve: false)');
  }

  private assertOpen(): void {
    if (this.closed) fail('this issuer is closed');
  }
}

/** A real `ServiceTokenService` for one key, its options checked by the module's own `service` section rules. */
async function generation(
  section: Record<string, unknown>,
): Promise<Generation> {
  const problems = new ConfigProblems();
  const resolved = await normalizeServiceTokenOptions(section, problems, {
    production: false,
    logger: silentLogger,
  });
  problems.throwIfAny();
  const service = new ServiceTokenService(resolved!.signing!);
  const kid = service.keyRing.signer(true).kid!;
  return { service, kid };
}

/**
 * `{ JWT_ISSUER_SERVICE_TRUSTED_ISSUERS }` trusting these test issuers: for an application configured from the
 * environment (`jwtIssuerConfig`), set before its testing module compiles.
 *
 * @example
 * Object.assign(process.env, testIssuersEnv(billing, orders));
 */
export function testIssuersEnv(...issuers: readonly TestIssuer[]): {
  JWT_ISSUER_SERVICE_TRUSTED_ISSUERS: string;
} {
  return {
    JWT_ISSUER_SERVICE_TRUSTED_ISSUERS: JSON.stringify(
      issuers.map((i) => i.trustedIssuer),
    ),
  };
}
