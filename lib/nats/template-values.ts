import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type { NatsTemplateValue } from './interfaces/nats-user-jwt.interface.js';
import type { NatsSigningKeyScope } from './interfaces/nats-account.interface.js';

// One character that changes a subject's structure once written into a template: a token separator, a wildcard,
// whitespace (ends a subject) or a control character.
const UNSAFE = /[.*>\s\p{Cc}]/u;

function why(char: string): string {
  switch (char) {
    case '.':
      return 'contains ".", the subject token separator: once templated it adds tokens and lands inside another namespace (users.{{name()}}.> with "bob.x" gives users.bob.x.>)';
    case '*':
    case '>':
      return `contains "${char}", a NATS wildcard: once templated it widens the subject to other users' (users.{{name()}}.> with "*" gives users.*.>)`;
    default:
      return /\s/u.test(char)
        ? 'contains whitespace, which no subject may hold: once templated the entry is dropped or the subject split'
        : 'contains a control character, which no subject should hold';
  }
}

function refuse(what: string, reason: string, value: NatsTemplateValue): never {
  throw new JwtIssuerError(
    JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE,
    `${what}: ${reason}. A scoped signing key's template may write it into a subject; derive names and tags from an authenticated identity, or pass valuesNotInTemplate: ['${value}'] if the template does not use it`,
  );
}

function checkOne(text: string, what: string, value: NatsTemplateValue): void {
  // Printable ASCII other than `.`, `*` and `>` is safe, and is what names and tags nearly always are: checked
  // without entering the regular expression, which runs for anything else.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x2a || c === 0x3e) {
      const m = UNSAFE.exec(text);
      if (m) refuse(what, why(m[0]), value);
      return;
    }
  }
}

/** Validates `valuesNotInTemplate` (internal). */
export function notInTemplate(
  value: unknown,
): ReadonlySet<NatsTemplateValue> | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.some((v) => v !== 'name' && v !== 'tags')
  ) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `valuesNotInTemplate: must be an array of 'name' and/or 'tags'`,
    );
  }
  return new Set(value as NatsTemplateValue[]);
}

/**
 * Refuses a `name` or tag that would change a subject's structure once a scoped signing key's template writes it in
 * (`{{name()}}`, `{{tag(x)}}`): `.`, `*`, `>`, whitespace, control characters, an empty tag or tag value (`team:`).
 * Nothing is checked when the key is known to be non-scoped (names and tags are then labels), nor for the values
 * the caller declares absent from the template. Types are checked by the caller. Messages never quote the value.
 *
 * @throws {JwtIssuerError} `UNSAFE_TEMPLATE_VALUE`.
 */
export function checkTemplateValues(
  name: string | undefined,
  tags: readonly string[] | undefined,
  scope: NatsSigningKeyScope,
  skip: ReadonlySet<NatsTemplateValue> | undefined,
): void {
  if (scope === 'unscoped') return;
  if (name !== undefined && !skip?.has('name')) checkOne(name, 'name', 'name');
  if (tags === undefined || skip?.has('tags')) return;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i];
    if (tag.endsWith(':')) {
      refuse(
        `tags[${i}]`,
        'has an empty value after ":": once templated it leaves an empty subject token',
        'tags',
      );
    }
    checkOne(tag, `tags[${i}]`, 'tags');
  }
}
