import 'reflect-metadata';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccount, createCurve } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import type { OptionFields } from '../../lib/config/option-fields.js';
import {
  JWT_ISSUER_CAPABILITIES,
  resolveJwtIssuerOptions,
} from '../../lib/jwt-issuer.capabilities.js';
import { DEFAULT_VERIFY_ALGORITHMS } from '../../lib/service-token/verifying/verification-jwk.js';
import { createNatsDevelopmentAccount } from '../../lib/index.js';
import { repositoryRoot } from '../../scripts/docs-reference.js';

/**
 * The default of every option, as documented, is the default the code applies: the reference page
 * (docs/configuration.md, generated from the options' tables and TSDoc) shows the default of each option that has
 * one in its table, and resolving a section without an option gives exactly what resolving it with the documented
 * value gives.
 */

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const pem = (k: { export(o: object): string | Buffer }) =>
  k.export({ format: 'pem', type: 'pkcs8' }).toString();
const rsa = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const dev = createNatsDevelopmentAccount();

/** A valid section in which every option of the section (and of its nested sections) takes effect. */
const BASES: Record<string, Record<string, unknown>> = {
  nats: {
    ...dev.moduleOptions,
    callout: {
      servers: 'nats://127.0.0.1:4222',
      user: 'auth',
      pass: 'secret',
      issuerKey: text(createAccount().getSeed()),
      xkey: text(createCurve().getSeed()),
      authorizer: 'service-token',
      audience: 'nats',
      permissions: { pub: { allow: ['users.{{name()}}.>'] } },
    },
  },
  service: {
    name: 'orders',
    issuer: 'https://orders.internal',
    privateKey: rsa,
    trustedIssuers: [
      {
        issuer: 'https://billing.internal',
        jwksUri: 'https://billing.internal/jwks.json',
      },
    ],
    oauth2: {
      issuer: 'https://idp.example',
      clientId: 'orders',
      destinations: [{ url: 'https://billing.internal' }],
    },
  },
  seald: { secretId: randomUUID(), secret: 'a-seald-secret' },
  vonage: { applicationId: randomUUID(), privateKey: rsa },
};

/**
 * Defaults of a trusted issuer entry applied where the entry is used (a standalone `ServiceTokenVerifier` takes the
 * same entries): the resolved entry leaves them out.
 */
const APPLIED_WHERE_USED = new Set([
  'service.trustedIssuers[].algorithms',
  'service.trustedIssuers[].accessTokenTypes',
]);

/** Documented defaults that depend on another option: the page says which, the section's rules apply them. */
const CONDITIONAL = new Set(['service.oauth2.clientAuth']);

/** Each option's default cell on the page, by path (`nats.callout.timeout`). */
function documentedDefaults(): Map<string, string> {
  const page = readFileSync(
    join(repositoryRoot(), 'docs/configuration.md'),
    'utf8',
  );
  const out = new Map<string, string>();
  for (const [, section, table] of page.matchAll(
    /<!-- generated:options:([\w-]+) -->([\s\S]*?)<!-- \/generated/g,
  )) {
    for (const [, name, cells] of table.matchAll(/^\| `([\w.]+)` \|(.*)$/gm)) {
      // option | environment variable | type | default | meaning
      out.set(`${section}.${name}`, cells.split(' | ')[2].trim());
    }
  }
  return out;
}

/** The JSON literal a default cell starts with (`` `5` ``, `` `"RS256"` `` …), when it is one. */
function literalOf(cell: string): unknown {
  const m = /^`([^`]+)`/.exec(cell);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]) as unknown;
  } catch {
    return undefined;
  }
}

/** Every field with a default in a table, by path; items of a list are `list[]`. */
function codeDefaults(path: string, fields: OptionFields): [string, unknown][] {
  return Object.entries(fields).flatMap(([key, field]) => [
    ...(field.default === undefined
      ? []
      : [[`${path}.${key}`, field.default] as [string, unknown]]),
    ...(field.fields ? codeDefaults(`${path}.${key}`, field.fields) : []),
    ...(field.itemFields
      ? codeDefaults(`${path}.${key}[]`, field.itemFields)
      : []),
  ]);
}

const quiet = {
  production: false,
  logger: { log() {}, warn() {}, error() {} },
};

/** The resolved section of `options` (a fresh copy of a base section, changed). */
async function resolveSection(section: string, options: object) {
  const resolved = await resolveJwtIssuerOptions(
    { ignoreEnvVars: true, [section]: options },
    undefined,
    quiet,
  );
  return (resolved as Record<string, unknown>)[section];
}

/** A copy of the base of `path`'s section with the option at `path` set to `value` (or removed when `undefined`). */
function baseWith(path: string, value: unknown): Record<string, unknown> {
  const [section, ...keys] = path.split('.');
  const copy = structuredClone(BASES[section]);
  let target = copy;
  for (const key of keys.slice(0, -1)) {
    target = key.endsWith('[]')
      ? (target[key.slice(0, -2)] as Record<string, unknown>[])[0]
      : (target[key] as Record<string, unknown>);
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

describe('option defaults: as documented is as applied', () => {
  const page = documentedDefaults();

  it.each(
    JWT_ISSUER_CAPABILITIES.flatMap((c) =>
      codeDefaults(c.section, c.options),
    ).filter(([path]) => !path.includes('[]')),
  )(
    'the reference page shows the default of %s that the code applies',
    (path, value) => {
      expect(page.get(path), `${path} has no row`).toBeDefined();
      expect(literalOf(page.get(path)!)).toEqual(value);
    },
  );

  const documented = [...page].filter(
    ([path, cell]) => literalOf(cell) !== undefined && !CONDITIONAL.has(path),
  );
  it.each(documented)(
    'resolving without %s gives what its documented default (%s) gives',
    async (path, cell) => {
      const value = literalOf(cell);
      const without = await resolveSection(
        path.split('.')[0],
        baseWith(path, undefined),
      );
      const withDefault = await resolveSection(
        path.split('.')[0],
        baseWith(path, value),
      );
      expect(without).toBeDefined();
      expect(without).toEqual(withDefault);
    },
  );

  const itemDefaults = JWT_ISSUER_CAPABILITIES.flatMap((c) =>
    codeDefaults(c.section, c.options),
  ).filter(([path]) => path.includes('[]'));
  it.each(itemDefaults.filter(([path]) => !APPLIED_WHERE_USED.has(path)))(
    'resolving an item without %s gives what its default (%j) gives',
    async (path, value) => {
      const without = await resolveSection(
        path.split('.')[0],
        baseWith(path, undefined),
      );
      const withDefault = await resolveSection(
        path.split('.')[0],
        baseWith(path, value),
      );
      expect(without).toBeDefined();
      expect(without).toEqual(withDefault);
    },
  );

  it("the defaults of a trusted issuer that its key source and the verifier apply are the table's", () => {
    const defaults = new Map(itemDefaults);
    // importVerificationJwk's default: the same list.
    expect(defaults.get('service.trustedIssuers[].algorithms')).toBe(
      DEFAULT_VERIFY_ALGORITHMS,
    );
    expect(
      defaults.get('service.trustedIssuers[].accessTokenTypes'),
    ).toBeDefined();
    for (const path of APPLIED_WHERE_USED)
      expect(defaults.has(path), path).toBe(true);
  });
});
