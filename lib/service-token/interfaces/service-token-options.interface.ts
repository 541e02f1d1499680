/** Options of the 'service-token' section. TODO: filled in by the service-token capability. */
export interface ServiceTokenOptions {
  [key: string]: unknown;
}

/** The 'service-token' section after validation (internal). */
export interface ResolvedServiceTokenOptions {
  [key: string]: unknown;
}
