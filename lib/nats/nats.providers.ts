import type { Provider } from '@nestjs/common';

/** Providers of the 'nats' capability. */
export const NATS_PROVIDERS: Provider[] = [];
