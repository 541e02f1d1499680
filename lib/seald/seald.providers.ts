import type { Provider } from '@nestjs/common';

/** Providers of the 'seald' capability. */
export const SEALD_PROVIDERS: Provider[] = [];
