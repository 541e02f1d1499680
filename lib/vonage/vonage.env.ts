import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'vonage' section. */
export const VONAGE_ENV_VARS: readonly EnvVarSpec[] = [];
