import {
  custom,
  flag,
  type ItemOptionsOf,
  items,
  list,
  number,
  oneOf,
  type OptionsOf,
  text,
} from '../../../config/option-fields.js';
import type { InternalDestinations } from '../clients/internal-destinations.js';

/** How this service authenticates to the token endpoint. */
export type OAuth2ClientAuthMethod = 'client_secret_basic' | 'private_key_jwt';

/** Every {@link OAuth2ClientAuthMethod}. */
export const OAUTH2_CLIENT_AUTH_METHODS: readonly OAuth2ClientAuthMethod[] = [
  'client_secret_basic',
  'private_key_jwt',
];

/** The options of one token request (internal): scopes, RFC 8707 resources, and an `audience`. */
export const TOKEN_REQUEST_OPTIONS = {
  /**
   * Scopes to ask for (sent space-separated as `scope`). The top level's are not added to a destination's request.
   * @default none (the IdP's default for the client)
   */
  scope: list({
    string: /[ ,]+/,
    empty: true,
    message: 'must be a string or a list of strings',
  }),
  /** RFC 8707 resource indicators: absolute URIs of the APIs the token is for (one `resource` parameter each). */
  resource: list({
    string: 'one',
    empty: true,
    item: (r) => URL.canParse(r) && new URL(r).hash === '' && !r.includes('#'),
    message:
      'must be an absolute URI without fragment, or a list of them (RFC 8707)',
  }),
  /** An `audience` parameter, for IdPs that use it instead of `resource` (Auth0, some Keycloak setups). */
  audience: text({ blank: true }),
};

/**
 * What one token request asks for: scopes, RFC 8707 resources, and an `audience` (the parameter some IdPs use). At
 * the top level of `service.oauth2` they make the default token; each destination's make its own token, and a
 * destination never inherits the top level's (see {@link OAuth2DestinationOptions}).
 */
export interface OAuth2TokenRequestOptions extends OptionsOf<
  typeof TOKEN_REQUEST_OPTIONS
> {}

/** The options of a destination with its own token (internal). */
export const DESTINATION_OPTIONS = {
  /**
   * The destination, matched as {@link InternalDestinations} match: an origin (`https://billing.internal`) or an
   * origin and a path prefix. A call to it (`authorizationHeader(url)`, `createServiceTokenFetch`, the axios
   * interceptor) gets this destination's token.
   */
  url: custom<string>({
    required:
      'must be an absolute http(s) URL without credentials, query or fragment',
  }),
  ...TOKEN_REQUEST_OPTIONS,
};

/**
 * One destination with its own token (another audience, resource or scopes). Its token request asks for exactly
 * this entry's `scope`, `resource` and `audience`: nothing is inherited from the top level of `service.oauth2`,
 * whose values are for the default token (another API). An entry without `scope` asks for none (the IdP's default
 * for the client): list the scopes the destination needs, even those the top level also has.
 *
 * @example
 * // The default token: invoices:read for billing; the stock API's: stock:read only (not invoices:read).
 * { scope: ['invoices:read'], resource: 'https://billing.internal',
 *   destinations: [{ url: 'https://stock.internal', resource: 'https://stock.internal', scope: 'stock:read' }] }
 */
export interface OAuth2DestinationOptions extends ItemOptionsOf<
  typeof DESTINATION_OPTIONS
> {}

/**
 * The options of `service.oauth2`, each declared once (type, default, bounds, secrecy, description); the public
 * type is {@link ServiceOAuth2ClientOptions}, the variables are `JWT_ISSUER_SERVICE_OAUTH2_<OPTION>` (internal).
 */
export const OAUTH2_CLIENT_OPTIONS = {
  /** The authorization server's issuer URL; its token endpoint is found by discovery. Give this or `tokenEndpoint`. */
  issuer: custom<string>({ env: 'string' }),
  /** The token endpoint URL itself. Give this or `issuer`. */
  tokenEndpoint: custom<string>({ env: 'string' }),
  /** This service's client id at the authorization server. */
  clientId: text({
    blank: true,
    required: 'is required (a non-empty string)',
    message: 'is required (a non-empty string)',
  }),
  /** The client secret, for `client_secret_basic` (never logged). */
  clientSecret: text({ blank: true, secret: true }),
  /**
   * `client_secret_basic` (HTTP Basic with `clientId` and `clientSecret`) or `private_key_jwt` (RFC 7523: a client
   * assertion signed with this service's static key, `kid` `s-…`, whose JWKS this service already publishes).
   * @default 'client_secret_basic' with a `clientSecret`, else 'private_key_jwt'
   */
  clientAuth: oneOf(OAUTH2_CLIENT_AUTH_METHODS),
  ...TOKEN_REQUEST_OPTIONS,
  /**
   * Destinations that need their own token; any other call gets the token of the top-level request. A destination
   * asks for its own `scope`, `resource` and `audience` only: it inherits none of the top level's.
   */
  destinations: items<OAuth2DestinationOptions>(DESTINATION_OPTIONS, {
    env: 'json',
    default: [],
  }),
  /** Deadline of one request to the token endpoint (or discovery), in seconds. @default 5 */
  timeout: number({
    default: 5,
    min: 0,
    above: true,
    max: 600,
    message: 'must be a number of seconds in (0, 600]',
  }),
  /**
   * Accept plain http to a host other than loopback (`localhost` itself, `127.0.0.0/8`, `::1`; a name under
   * `.localhost` is not loopback): the secret or assertion travels in clear. @default false
   */
  allowHttp: flag({ default: false }),
};

/**
 * `service.oauth2`: get this service's outgoing token from an OAuth 2.0 token endpoint (client credentials grant,
 * RFC 6749 4.4) instead of signing it. Give the authorization server's `issuer` (the token endpoint is found by
 * OpenID Connect discovery) or its `tokenEndpoint`. Tokens are cached per destination, renewed before they expire,
 * one request in flight per destination, with back-off on failure; every request is bounded like a JWKS fetch.
 *
 * @example
 * service: {
 *   name: 'orders', issuer: 'https://orders.internal', privateKey: '/run/secrets/orders.pem',
 *   oauth2: {
 *     issuer: 'https://idp.example.com/realms/internal',
 *     clientId: 'orders',
 *     clientAuth: 'private_key_jwt', // signed with service.privateKey; register this service's JWKS URL at the IdP
 *     scope: ['invoices:read'],
 *     destinations: [{ url: 'https://billing.internal', resource: 'https://billing.internal' }],
 *   },
 * }
 */
export interface ServiceOAuth2ClientOptions extends ItemOptionsOf<
  typeof OAUTH2_CLIENT_OPTIONS
> {}

/** One token request after validation (internal). */
export interface ResolvedOAuth2TokenRequest {
  readonly scope: string | undefined;
  readonly resource: readonly string[];
  readonly audience: string | undefined;
}

/** `service.oauth2` after validation (internal). */
export interface ResolvedOAuth2Client {
  readonly issuer: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientAuth: OAuth2ClientAuthMethod;
  readonly timeoutMs: number;
  readonly allowHttp: boolean;
  readonly request: ResolvedOAuth2TokenRequest;
  readonly destinations: readonly {
    readonly match: InternalDestinations;
    readonly request: ResolvedOAuth2TokenRequest;
  }[];
}
