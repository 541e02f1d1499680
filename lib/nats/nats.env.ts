import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'nats' section. */
export const NATS_ENV_VARS: readonly EnvVarSpec[] = [];
