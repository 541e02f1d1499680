/** True for an object that is neither `null` nor an array (what a JSON object or an options object is). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
