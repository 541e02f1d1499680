import { describe, expect, it } from 'vitest';
import type { NatsUserPermissions } from '../../../lib/index.js';
import {
  type EmptyAllowPolicy,
  expandPermissions,
  tagsFromClaims,
} from '../../../lib/nats/callout/callout-authorizers.js';
import {
  isSafeSubjectValue,
  TEMPLATE_ALLOW_POOL,
  TEMPLATE_DENY_POOL,
} from '../../support/nats-template-oracle.js';
import { seededRandom } from '../../../bench/token-fuzzer.js';

const safe = isSafeSubjectValue;

/**
 * The subjects one template entry gives with only the safe values: none when a placeholder has no safe value, or,
 * for a deny entry (`strict`), when any of its values is unsafe.
 */
function oracle(
  entry: string,
  name: string,
  tags: readonly string[],
  strict = false,
): string[] {
  const parts = entry.split(/(\{\{name\(\)\}\}|\{\{tag\([a-z0-9_-]+\)\}\})/);
  let out = [''];
  for (const part of parts) {
    let values: string[];
    if (part === '{{name()}}') values = [name];
    else if (part.startsWith('{{tag(')) {
      const key = part.slice(6, -3);
      values = tags
        .filter((t) => t.startsWith(`${key}:`))
        .map((t) => t.slice(key.length + 1));
    } else values = [part];
    if (part.startsWith('{{')) {
      const all = values;
      values = values.filter(safe);
      if (strict && values.length < all.length) return [];
    }
    out = out.flatMap((prefix) => values.map((v) => prefix + v));
  }
  return out;
}

const ALLOW_POOL = TEMPLATE_ALLOW_POOL;
const DENY_POOL = TEMPLATE_DENY_POOL;
const VALUES: unknown[] = [
  'orders',
  'blue',
  'red',
  '',
  '*',
  '>',
  'blue.>',
  'a.b',
  ' x',
  'tab\tx',
  'ü',
  'x'.repeat(300),
  { x: 1 },
  5,
  ['blue', 'red'],
  ['*', 'blue'],
  '{{tag(role)}}',
  '{{name()}}',
  ['{{tag(team)}}', 'red'],
  undefined,
];

describe('the callout template: what is signed is never wider than the template with safe values', () => {
  it('over random templates and claim values: refused, or only safe expansions, no empty allow, every deny kept', () => {
    const random = seededRandom(2323);
    const pick = <T>(list: readonly T[]): T =>
      list[Math.floor(random() * list.length)];
    const some = (pool: readonly string[], min: number): string[] => {
      const n = min + Math.floor(random() * 3);
      return [...new Set(Array.from({ length: n }, () => pick(pool)))];
    };
    const outcomes = { refused: 0, allowed: 0, denyAll: 0 };
    for (let i = 0; i < 5000; i++) {
      const template: NatsUserPermissions = {};
      for (const direction of ['pub', 'sub'] as const) {
        if (random() < 0.1) continue;
        template[direction] = {
          allow: some(ALLOW_POOL, 1),
          ...(random() < 0.5 ? { deny: some(DENY_POOL, 1) } : {}),
        };
      }
      if (random() < 0.2) template.resp = { max: 1 };
      const claims: Record<string, unknown> = {
        team: pick(VALUES),
        role: pick(VALUES),
      };
      const nameValue = pick(VALUES);
      const name = typeof nameValue === 'string' ? nameValue : '';
      const tags = tagsFromClaims(claims, ['team', 'role']);
      const policy: EmptyAllowPolicy =
        random() < 0.5 ? 'refuse-connection' : 'deny-all';
      const result = expandPermissions(template, name, tags, policy);
      const context = JSON.stringify({ i, template, claims, name, policy });

      // What the independent oracle says must happen.
      let mustRefuse = false;
      const expectedDenyAll: string[] = [];
      for (const direction of ['pub', 'sub'] as const) {
        const p = template[direction];
        if (!p) continue;
        if (p.deny?.some((e) => oracle(e, name, tags, true).length === 0)) {
          mustRefuse = true;
        }
        if (p.allow!.every((e) => oracle(e, name, tags).length === 0)) {
          if (policy === 'refuse-connection') mustRefuse = true;
          else expectedDenyAll.push(direction);
        }
      }
      if (mustRefuse) {
        expect(result.ok, context).toBe(false);
        if (!result.ok) expect(result.reason).toMatch(/^permissions\./);
        outcomes.refused++;
        continue;
      }
      expect(result.ok, context).toBe(true);
      if (!result.ok) continue;
      outcomes.allowed++;
      const out = result.permissions!;
      expect(out.resp, context).toEqual(template.resp);
      for (const direction of ['pub', 'sub'] as const) {
        const p = template[direction];
        const got = out[direction];
        if (!p) {
          expect(got, context).toBeUndefined();
          continue;
        }
        if (expectedDenyAll.includes(direction)) {
          outcomes.denyAll++;
          expect(got, context).toEqual({ deny: ['>'] });
          continue;
        }
        const allow = p.allow!.flatMap((e) => oracle(e, name, tags));
        expect(got?.allow?.length, context).toBeGreaterThan(0);
        expect(got?.allow?.toSorted(), context).toEqual(allow.toSorted());
        if (p.deny) {
          const deny = p.deny.flatMap((e) => oracle(e, name, tags, true));
          expect(got?.deny?.toSorted(), context).toEqual(deny.toSorted());
        } else {
          expect(got?.deny, context).toBeUndefined();
        }
        for (const subject of [...got!.allow!, ...(got!.deny ?? [])]) {
          expect(subject, context).not.toMatch(/\s|\.\.|^\.|\.$/);
        }
      }
    }
    expect(outcomes.refused).toBeGreaterThan(500);
    expect(outcomes.allowed).toBeGreaterThan(500);
    expect(outcomes.denyAll).toBeGreaterThan(100);
  });

  it.each([
    ['a missing team claim', {}],
    ['team "*"', { team: '*' }],
    ['team "blue.>"', { team: 'blue.>' }],
    ['team ""', { team: '' }],
    ['team an object', { team: { name: 'blue' } }],
  ])(
    'the issue’s case: %s empties an allow list of tag entries: refused, or deny-all when configured',
    (_label, claims) => {
      const template = { pub: { allow: ['teams.{{tag(team)}}.>'] } };
      const tags = tagsFromClaims(claims, ['team']);
      expect(expandPermissions(template, 'orders', tags)).toEqual({
        ok: false,
        reason: expect.stringMatching(
          /^permissions\.pub\.allow expands to no subject/,
        ),
      });
      expect(expandPermissions(template, 'orders', tags, 'deny-all')).toEqual({
        ok: true,
        permissions: { pub: { deny: ['>'] } },
      });
    },
  );

  it('a deny entry that cannot be expanded refuses the connection, whatever the allow list', () => {
    const template = {
      sub: {
        allow: ['users.{{name()}}.>'],
        deny: ['users.{{name()}}.{{tag(role)}}'],
      },
    };
    expect(expandPermissions(template, 'orders', [])).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^permissions\.sub\.deny\[0\] cannot be expanded/,
      ),
    });
    expect(expandPermissions(template, 'orders', ['role:admin'])).toEqual({
      ok: true,
      permissions: {
        sub: { allow: ['users.orders.>'], deny: ['users.orders.admin'] },
      },
    });
  });

  it('an allow list keeps the entries that expand when others do not (narrower, never wider)', () => {
    expect(
      expandPermissions(
        { pub: { allow: ['teams.{{tag(team)}}.>', 'users.{{name()}}.>'] } },
        'orders',
        ['team:*'],
      ),
    ).toEqual({
      ok: true,
      permissions: { pub: { allow: ['users.orders.>'] } },
    });
  });

  it('a value is never read as a placeholder of its own: the entry is filled in one pass', () => {
    expect(
      expandPermissions(
        { pub: { allow: ['teams.{{tag(team)}}.{{tag(role)}}'] } },
        'orders',
        tagsFromClaims({ team: '{{tag(role)}}', role: 'red' }, [
          'team',
          'role',
        ]),
      ),
    ).toEqual({
      ok: true,
      permissions: { pub: { allow: ['teams.{{tag(role)}}.red'] } },
    });
    expect(
      expandPermissions(
        { pub: { allow: ['teams.{{tag(team)}}.{{name()}}'] } },
        '{{tag(team)}}',
        ['team:blue', 'team:red'],
      ),
    ).toEqual({
      ok: true,
      permissions: {
        pub: { allow: ['teams.blue.{{tag(team)}}', 'teams.red.{{tag(team)}}'] },
      },
    });
  });

  it('a deny entry with one unsafe value among safe ones refuses the connection (no value escapes a deny)', () => {
    const template = {
      sub: { allow: ['teams.>'], deny: ['teams.{{tag(role)}}.>'] },
    };
    const tags = tagsFromClaims({ role: ['lead', 'blue.>'] }, ['role']);
    expect(expandPermissions(template, 'orders', tags)).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^permissions\.sub\.deny\[0\] cannot be expanded/,
      ),
    });
    // The same values in an allow entry: the unsafe one is left out.
    expect(
      expandPermissions(
        { sub: { allow: ['teams.{{tag(role)}}.>'] } },
        'o',
        tags,
      ),
    ).toEqual({ ok: true, permissions: { sub: { allow: ['teams.lead.>'] } } });
  });
});
