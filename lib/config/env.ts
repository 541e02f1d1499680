import type { EnvVarSpec } from './env-var.interface.js';

/** Maps an option path to the environment variable that feeds it, for a list of variables. */
export function envVarLookup(
  specs: readonly EnvVarSpec[],
): (path: string) => string | undefined {
  const byPath = new Map(specs.map((v) => [v.path, v.env]));
  return (path) => byPath.get(path);
}

function parse(spec: EnvVarSpec, text: string): unknown {
  switch (spec.kind) {
    case 'string':
      return text;
    case 'number': {
      // Keep the text when it is not a number: validation reports it with the variable's name.
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      return text;
    }
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
  }
}

/**
 * Reads options from the environment variables in `specs`. Only variables that are set (and not empty) appear in
 * the result; a section appears only when at least one of its variables is set. Values that do not parse are kept as
 * text, so that validation reports them with the variable's name.
 */
export function readEnvOptions(
  specs: readonly EnvVarSpec[],
  env: Record<string, string | undefined>,
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const [section, ...rest] = spec.path.split('.');
    let target = (out[section] ??= {});
    for (const key of rest.slice(0, -1)) {
      target = (target[key] ??= {}) as Record<string, unknown>;
    }
    target[rest[rest.length - 1]] = parse(spec, text);
  }
  return out;
}

/** Edit distance (insertions, deletions, substitutions) between two names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The variables of `env` that start with `prefix`, are set (not empty), and are not in `specs` (a misspelled name
 * such as `JWT_ISSUER_SERVICE_TRUSTED_ISSUER`), each with the closest known name. Names are compared, never values.
 */
export function unknownEnvVars(
  specs: readonly EnvVarSpec[],
  env: Record<string, string | undefined>,
  prefix: string,
): { name: string; closest: string | undefined }[] {
  const known = new Set(specs.map((v) => v.env));
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith(prefix) &&
        !known.has(name) &&
        env[name] !== undefined &&
        env[name] !== '',
    )
    .toSorted()
    .map((name) => {
      let closest: string | undefined;
      let best = Infinity;
      for (const candidate of known) {
        const d = distance(name, candidate);
        if (d < best) [best, closest] = [d, candidate];
      }
      return { name, closest };
    });
}
