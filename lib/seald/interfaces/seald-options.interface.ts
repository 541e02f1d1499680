/** Options of the 'seald' section. TODO: filled in by the seald capability. */
export interface SealdJwtOptions {
  [key: string]: unknown;
}

/** The 'seald' section after validation (internal). */
export interface ResolvedSealdJwtOptions {
  [key: string]: unknown;
}
