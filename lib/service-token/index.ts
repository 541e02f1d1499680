// The service-token capability: its descriptor (section, environment variables, options, providers, health) and
// its three roles, each in a folder with its own index: issuing/ (this service's tokens and keys), verifying/
// (incoming calls) and outgoing/ (calls to other services). http/ holds what verifying and outgoing share.
// Internal: the public API is what lib/index.ts names.
export { SERVICE_TOKEN_CAPABILITY } from './service-token.capability.js';
export { SERVICE_TOKEN_ENV_VARS } from './service-token.env.js';
export {
  generateServiceKey,
  normalizeServiceTokenOptions,
} from './service-token.options.js';
export { serviceTokenHealth } from './service-token.health.js';
export type * from './interfaces/service-token-options.interface.js';
export * from './issuing/index.js';
export * from './verifying/index.js';
export * from './outgoing/index.js';
