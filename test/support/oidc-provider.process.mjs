// A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) in its own process, as in production:
// client credentials, resource indicators (RFC 8707) and JWT access tokens (RFC 9068). Configured by the JSON in
// OIDC_PROVIDER_CONFIG: { port, keys: [private JWK], clients: [client metadata], resources: { [uri]: { scope, ttl, alg } } }.
// Prints "oidc-provider ready <issuer>" once listening on 127.0.0.1.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_PROVIDER_CONFIG ?? '{}');
const issuer = `http://127.0.0.1:${config.port}`;
const resources = config.resources ?? {};
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: config.keys },
  scopes: [
    'openid',
    ...new Set(Object.values(resources).flatMap((r) => r.scope.split(' '))),
  ],
  clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
  // The keys' first algorithm signs what the clients do not choose (ID tokens, never used here).
  clientDefaults: { id_token_signed_response_alg: config.keys[0].alg },
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    idTokenSigningAlgValues: ALGORITHMS,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // No resource asked for: an opaque token (no JWT), as the provider does by default.
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        const r = resources[resourceIndicator];
        if (!r) throw new Provider.errors.InvalidTarget();
        return {
          scope: r.scope,
          audience: resourceIndicator,
          accessTokenTTL: r.ttl ?? 60,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: r.alg ?? 'ES256' } },
        };
      },
    },
  },
  // The provider refuses to fetch from special-use addresses (SSRF protection); the test's client JWKS is on
  // loopback, so its fetches go out without that dispatcher.
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});
// One line per access token issued, for tests that count requests.
provider.on('client_credentials.issued', (token) =>
  console.log(`issued ${token.clientId}`),
);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ready ${issuer}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
});
