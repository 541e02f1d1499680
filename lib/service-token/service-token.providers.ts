import type { Provider } from '@nestjs/common';

/** Providers of the 'service-token' capability. */
export const SERVICE_TOKEN_PROVIDERS: Provider[] = [];
