/** Options of the 'nats' section. TODO: filled in by the nats capability. */
export interface NatsUserJwtOptions {
  [key: string]: unknown;
}

/** The 'nats' section after validation (internal). */
export interface ResolvedNatsUserJwtOptions {
  [key: string]: unknown;
}
