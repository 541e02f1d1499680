import type { Provider } from '@nestjs/common';

/** Providers of the 'vonage' capability. */
export const VONAGE_PROVIDERS: Provider[] = [];
