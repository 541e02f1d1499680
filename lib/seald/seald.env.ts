import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'seald' section. */
export const SEALD_ENV_VARS: readonly EnvVarSpec[] = [];
