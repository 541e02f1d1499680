// What the callout template tests share, written independently of lib/: which values may stand in a subject token,
// and the template entries the random templates are drawn from.

/** A value that may stand in a subject token: a string of 1..256 characters, no `.`, `*`, `>`, whitespace, control. */
export function isSafeSubjectValue(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 256)
    return false;
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (c === '.' || c === '*' || c === '>' || /\s/u.test(c)) return false;
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** Allow entries: with safe values none reaches admin.*, another team's or another user's subjects. */
export const TEMPLATE_ALLOW_POOL: readonly string[] = [
  'users.{{name()}}.>',
  'teams.{{tag(team)}}.>',
  'teams.{{tag(team)}}.{{name()}}',
  'teams.{{tag(team)}}.{{tag(role)}}',
  'teams.{{tag(role)}}.x',
  '_INBOX.>',
  'public.>',
];

/** Deny entries, with one placeholder or two. */
export const TEMPLATE_DENY_POOL: readonly string[] = [
  'teams.{{tag(team)}}.secret',
  'teams.{{tag(team)}}.{{tag(role)}}.>',
  'users.{{name()}}.private',
  'public.restricted',
  'teams.{{tag(role)}}.>',
];
