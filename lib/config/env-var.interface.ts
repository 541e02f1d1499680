/** How an environment variable's text becomes an option value. */
export type EnvVarKind = 'string' | 'number' | 'boolean' | 'list' | 'json';

/** One environment variable the module reads, and the option it feeds. */
export interface EnvVarSpec {
  /** Variable name, e.g. `JWT_ISSUER_NATS_SIGNING_KEY`. */
  env: string;
  /** Option path it feeds, e.g. `nats.signingKey`. */
  path: string;
  kind: EnvVarKind;
  /** True when the value is secret: it is never echoed in errors or logs. */
  secret?: boolean;
}
