import { Controller } from '@nestjs/common';

/** Sample routes of the 'vonage' capability. */
@Controller('vonage')
export class VonageController {}
