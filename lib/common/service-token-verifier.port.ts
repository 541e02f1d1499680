/**
 * What another capability (the NATS auth callout) needs of the 'service' section's verifier, so that it injects
 * {@link SERVICE_TOKEN_VERIFIER_PORT} instead of importing the service-token capability (internal).
 */
export interface ServiceTokenVerifierPort {
  /** Verifies a service token (signature, issuer, audience, lifetime) and returns its claims. */
  verify(token: string): Promise<Readonly<Record<string, unknown>>>;
  /** The audiences `verify` checks (the section's `expectedAudience`), when set. */
  readonly expectedAudience?: readonly string[];
}

/**
 * Token of the {@link ServiceTokenVerifierPort}: provided by the service-token capability, `null` when the
 * 'service' section is not configured (it then has no usable verifier).
 */
export const SERVICE_TOKEN_VERIFIER_PORT = Symbol(
  'SERVICE_TOKEN_VERIFIER_PORT',
);
