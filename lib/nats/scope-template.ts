import type {
  NatsPermissionJson,
  NatsScopeTemplate,
} from './interfaces/nats-account.interface.js';

/** What a scope template's functions read: the user JWT's claims and the account's. */
export interface ScopeTemplateValues {
  /** The user's `name` claim (`{{name()}}`). */
  name: string;
  /** The user's public key, the `sub` claim (`{{subject()}}`). */
  subject: string;
  /** The user's tags, `nats.tags` (`{{tag(x)}}`). */
  tags?: readonly string[];
  /** The account's name (`{{account-name()}}`). */
  accountName?: string;
  /** The account's public key, `nats.issuer_account` (`{{account-subject()}}`). */
  accountSubject?: string;
  /** The account's tags (`{{account-tag(x)}}`). */
  accountTags?: readonly string[];
}

/** The result of {@link applyScopeTemplate}: the permissions and limits, or why the server refuses the user. */
export type AppliedScopeTemplate =
  { ok: true; template: NatsScopeTemplate } | { ok: false; reason: string };

/** A subject as nats-server accepts it: no whitespace, no empty token, `>` only as the last token. */
export function isValidSubject(subject: string): boolean {
  if (subject === '' || /[\t\n\f\r ]/.test(subject)) return false;
  const tokens = subject.split('.');
  return tokens.every(
    (t, i) => t !== '' && (t !== '>' || i === tokens.length - 1),
  );
}

// A token is a template function when it is wholly `{{…}}`; the function name is matched in lower case.
const isFunctionToken = (token: string): boolean =>
  token.startsWith('{{') && token.endsWith('}}');

/** The value lists of `prefix:` tags (prefix matched in lower case, values kept as written). */
function tagValues(tags: readonly string[] | undefined, key: string): string[] {
  const prefix = `${key.toLowerCase()}:`;
  return (tags ?? [])
    .filter((t) => t.startsWith(prefix))
    .map((t) => t.slice(prefix.length));
}

/** Every combination of one value per list, in order. */
function combinations(lists: readonly string[][]): string[][] {
  let out: string[][] = [[]];
  for (const list of lists)
    out = out.flatMap((c) => list.map((v) => [...c, v]));
  return out;
}

/**
 * Expands one subject list as nats-server (2.9 and later) does for a user of a scoped signing key: each token that
 * is a template function is replaced (`{{tag(x)}}` by each of the user's `x:` tag values, one subject per
 * combination); a subject that comes out invalid (an unknown function, a name with a space, a tag the user does
 * not have) is dropped from an allow list and makes the whole user invalid in a deny list.
 */
function expandList(
  list: readonly string[] | undefined,
  values: ScopeTemplateValues,
  deny: boolean,
): string[] | undefined | false {
  if (list === undefined) return undefined;
  if (!list.some((s) => s.split('.').some(isFunctionToken))) return [...list];
  const out: string[] = [];
  for (const subject of list) {
    const lists: string[][] = [];
    // `null` marks a tag placeholder, filled from `lists` in order.
    const tokens = subject.split('.').map((token): string | null => {
      if (!isFunctionToken(token)) return token;
      const fn = token.slice(2, -2).toLowerCase();
      if (fn === 'name()') return values.name;
      if (fn === 'subject()') return values.subject;
      if (fn === 'account-name()') return values.accountName ?? '';
      if (fn === 'account-subject()') return values.accountSubject ?? '';
      const tag = /^(account-)?tag\((.*)\)$/.exec(fn);
      if (!tag) return ' '; // unknown function: the subject is invalid
      const found = tagValues(
        tag[1] ? values.accountTags : values.tags,
        tag[2],
      );
      if (found.length === 0) return ''; // no such tag: an empty token, invalid
      lists.push(found);
      return null;
    });
    for (const combination of combinations(lists)) {
      let next = 0;
      const expanded = tokens
        .map((t) => (t === null ? combination[next++] : t))
        .join('.');
      if (isValidSubject(expanded)) out.push(expanded);
      else if (deny) return false;
    }
  }
  return out;
}

function expandPermission(
  permission: NatsPermissionJson | undefined,
  values: ScopeTemplateValues,
): NatsPermissionJson | undefined | false {
  if (permission === undefined) return undefined;
  const allow = expandList(permission.allow, values, false);
  const deny = expandList(permission.deny, values, true);
  if (allow === false || deny === false) return false;
  const out: NatsPermissionJson = {};
  if (allow !== undefined) out.allow = allow;
  if (deny !== undefined) out.deny = deny;
  // An allow list that templating emptied would allow everything: the server denies everything instead.
  if ((permission.allow?.length ?? 0) > 0 && allow?.length === 0) {
    out.deny = [...(out.deny ?? []), '>'];
  }
  return out;
}

/**
 * The permissions and limits nats-server applies to a user signed by a scoped signing key: the scope's template
 * with its functions (`{{name()}}`, `{{subject()}}`, `{{tag(x)}}`, `{{account-name()}}`, `{{account-subject()}}`,
 * `{{account-tag(x)}}`) expanded from the user's claims, as the server does when the user connects. The template
 * is not changed.
 *
 * @returns `ok: false` with the server's reason when it would refuse the user (a deny subject came out invalid).
 */
export function applyScopeTemplate(
  template: Readonly<NatsScopeTemplate>,
  values: ScopeTemplateValues,
): AppliedScopeTemplate {
  const out = structuredClone(template) as NatsScopeTemplate;
  for (const key of ['pub', 'sub'] as const) {
    const expanded = expandPermission(template[key], values);
    if (expanded === false) {
      return { ok: false, reason: 'User JWT generated invalid permissions' };
    }
    if (expanded !== undefined) out[key] = expanded;
  }
  return { ok: true, template: out };
}
