import { Controller } from '@nestjs/common';

/** Sample routes of the 'nats' capability. */
@Controller('nats')
export class NatsController {}
