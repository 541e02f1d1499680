// Outgoing: what this service's calls to other services carry. The OAuth 2.0 client (a token from the identity
// provider, per destination), and the helpers that put the token on fetch, axios, NATS and gRPC calls to the
// internal destinations only.
export {
  withServiceToken,
  createServiceTokenFetch,
  useServiceTokenInterceptor,
  type AxiosLike,
  type AxiosRequestConfigLike,
  type HeaderCarrier,
  type ServiceTokenClientOptions,
  type ServiceTokenSource,
} from './clients/service-token-clients.js';
export { InternalDestinations } from './clients/internal-destinations.js';
export {
  OAuth2TokenClient,
  parseTokenResponse,
  DEFAULT_TOKEN_LIFETIME_S,
  MAX_ACCESS_TOKEN_CHARS,
  MAX_TOKEN_RESPONSE_BYTES,
  type TokenResponse,
} from './oauth2/oauth2-token-client.js';
export { normalizeOAuth2Client } from './oauth2/oauth2-client.options.js';
export type {
  OAuth2ClientAuthMethod,
  OAuth2DestinationOptions,
  OAuth2TokenRequestOptions,
  ResolvedOAuth2Client,
  ResolvedOAuth2TokenRequest,
  ServiceOAuth2ClientOptions,
} from './oauth2/oauth2-client.interface.js';
