/** The longest delay `setTimeout` can wait (a longer one fires at once). */
export const MAX_TIMER_MS = 2_147_483_647;

/** The current time in whole seconds since the epoch (the unit of `iat`, `exp` and `nbf`). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * A `Date` or a count of whole seconds since the epoch, as whole seconds; `undefined` for anything else (negative,
 * fractional, non-finite, other types), so each caller can throw its own error naming its argument.
 */
export function toEpochSeconds(value: unknown): number | undefined {
  const s =
    value instanceof Date
      ? Math.floor(value.getTime() / 1000)
      : typeof value === 'number'
        ? value
        : Number.NaN;
  return Number.isSafeInteger(s) && s >= 0 ? s : undefined;
}
