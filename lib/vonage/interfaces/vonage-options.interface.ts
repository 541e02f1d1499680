/** Options of the 'vonage' section. TODO: filled in by the vonage capability. */
export interface VonageJwtOptions {
  [key: string]: unknown;
}

/** The 'vonage' section after validation (internal). */
export interface ResolvedVonageJwtOptions {
  [key: string]: unknown;
}
