import { Controller } from '@nestjs/common';

/** Sample routes of the 'seald' capability. */
@Controller('seald')
export class SealdController {}
