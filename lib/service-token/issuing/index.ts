// Issuing: this service's own tokens, its keys (static, rotating, shared between replicas through a key store) and
// the JWKS and discovery document it publishes.
export {
  ServiceTokenService,
  ownTokenClaims,
  type CreateJwtOptions,
  type ServiceOpenIdConfiguration,
} from './service-token.service.js';
export {
  ServiceTokenKeyRing,
  makeRingKey,
  thumbprint,
  type KeyRingState,
  type PublishedJwk,
  type ServiceKeyRing,
} from './service-token-key-ring.js';
export { ServiceTokenJwksPublisher } from './service-token-jwks.publisher.js';
export type { ServiceTokenKeyStore } from './key-store/service-token-key-store.interface.js';
export {
  RedisServiceTokenKeyStore,
  REDIS_CLIENT_PACKAGE,
  type RedisHashCommands,
} from './key-store/redis-key-store.js';
export {
  KEY_STORE_SYNC_MS,
  publicationLeadSeconds,
} from './key-store/publication-lead.js';
