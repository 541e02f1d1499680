import { type ConfigProblem, JwtIssuerConfigError } from '../errors.js';
import { envVarForPath } from './env.js';

/**
 * Collects every configuration problem found while validating options, so that bootstrap fails once with all of
 * them. Messages must never include a secret value.
 */
export class ConfigProblems {
  readonly list: ConfigProblem[] = [];

  /** Records a problem with the option at `path` (the env var behind it is looked up). */
  add(path: string, message: string): void {
    this.list.push({ path, env: envVarForPath(path), message });
  }

  /** Throws a {@link JwtIssuerConfigError} listing every problem, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new JwtIssuerConfigError(this.list);
  }
}
