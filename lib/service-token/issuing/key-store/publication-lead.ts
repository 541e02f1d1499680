/** How often each replica reads the shared ring (and how stale its view may be when the store answers). */
export const KEY_STORE_SYNC_MS = 1000;

/**
 * The publication lead (seconds) a rotating service needs: verifiers refetch a JWKS no more often than their
 * cool-down, so a key must be served for one cool-down before it signs; with a shared store, a replica may also see
 * a new key one sync late, and its verifiers may fetch from the replica that saw it last. The rotation interval is
 * the lead a key gets, so it may not be shorter.
 */
export function publicationLeadSeconds(
  jwksCooldownSeconds: number,
  shared: boolean,
): number {
  return jwksCooldownSeconds + (shared ? (2 * KEY_STORE_SYNC_MS) / 1000 : 0);
}
