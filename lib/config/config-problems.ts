import { isPlainObject } from '../common/is-plain-object.js';
import {
  type ConfigProblem,
  JwtIssuerConfigError,
  JwtIssuerError,
} from '../errors.js';

/**
 * Collects every configuration problem found while validating options, so that bootstrap fails once with all of
 * them. Messages must never include a secret value.
 */
export class ConfigProblems {
  readonly list: ConfigProblem[] = [];

  /** @param envVarForPath - names the environment variable behind an option path, where there is one. */
  constructor(
    private readonly envVarForPath: (path: string) => string | undefined = () =>
      undefined,
  ) {}

  /** Records a problem with the option at `path` (the env var behind it is looked up). */
  add(path: string, message: string): void {
    this.list.push({ path, env: this.envVarForPath(path), message });
  }

  /**
   * Checks that a section (or any options object at `path`) is a plain object whose defined keys are all `known`,
   * recording a problem for each unknown key. Returns the object, or `undefined` when it is not an object.
   * `path` `''` is the top level (the module options themselves).
   */
  section(
    path: string,
    raw: unknown,
    known: readonly string[],
  ): Record<string, unknown> | undefined {
    if (!isPlainObject(raw)) {
      this.add(path || 'options', 'must be an object');
      return undefined;
    }
    const o = raw as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (o[key] !== undefined && !known.includes(key)) {
        this.add(
          path ? `${path}.${key}` : key,
          `is not a known option (known: ${known.join(', ')})`,
        );
      }
    }
    return o;
  }

  /**
   * Runs a check that throws {@link JwtIssuerError}s (such as key loading); a thrown one becomes a problem at `path`
   * (a leading `path: ` in its message is dropped) and `undefined` is returned. Other errors propagate.
   */
  attempt<T>(path: string, check: () => T): T | undefined {
    try {
      return check();
    } catch (e) {
      if (!(e instanceof JwtIssuerError)) throw e;
      const message = e.message.startsWith(`${path}: `)
        ? e.message.slice(path.length + 2)
        : e.message;
      this.add(path, message);
      return undefined;
    }
  }

  /** Throws a {@link JwtIssuerConfigError} listing every problem, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new JwtIssuerConfigError(this.list);
  }
}
