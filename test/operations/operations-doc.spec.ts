import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type InstrumentSpec,
  JWT_ISSUER_INSTRUMENTS,
} from '../../lib/common/telemetry.js';

const page = join(import.meta.dirname, '..', '..', 'docs', 'operations.md');

/** The Prometheus name the OpenTelemetry Prometheus exporter gives an instrument. */
function prometheusName(spec: InstrumentSpec): string {
  const base = spec.name.replaceAll('.', '_');
  if (spec.kind === 'counter') return `${base}_total`;
  if (spec.kind === 'histogram') return `${base}_{bucket,sum,count}`;
  return base;
}

/** The instrument table of docs/operations.md, rendered from the catalogue in lib/common/telemetry.ts. */
export function instrumentTable(): string {
  const rows = (Object.values(JWT_ISSUER_INSTRUMENTS) as InstrumentSpec[]).map(
    (s) => {
      const attributes = Object.entries(s.attributes)
        .map(([name, values]) => `\`${name}\`: ${values}`)
        .join('<br>');
      return `| \`${s.name}\` | ${s.kind} | \`${s.unit}\` | \`${prometheusName(s)}\` | ${attributes || '—'} | ${s.description} |`;
    },
  );
  return [
    '| instrument | kind | unit | in Prometheus | attributes | what it counts |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

describe('docs/operations.md', () => {
  it('has the instrument table the code defines (regenerate it from this test when an instrument changes)', () => {
    const text = readFileSync(page, 'utf8');
    expect(text).toContain(instrumentTable());
  });
});
