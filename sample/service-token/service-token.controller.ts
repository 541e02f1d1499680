import { Controller } from '@nestjs/common';

/** Sample routes of the 'service-token' capability. */
@Controller('service-token')
export class ServiceTokenController {}
