/** What domain/get and domain/update answer (domain.service.ts get): this domain's settings and usage. */
import { z } from 'zod';
import { timestampField } from '../../shared/rpc';

export const domainInfoSchema = z
  .strictObject({
    domain_id: z.string(),
    trash_retention_days: z.number().int(),
    user_count: z.number().int(),
    drive_count: z.number().int(),
    used_size: z.number().int().describe('bytes stored, over all drives'),
    total_size: z.number().int().describe('the sum of the quotas of drives that have one'),
    unlimited_drive_count: z.number().int().describe('drives without a quota'),
    // Absent until the domain's row exists (it is made at start: domain.service.ts ensure).
    created_at: timestampField.optional(),
    updated_at: timestampField.optional(),
  })
  .meta({ id: 'DomainInfo', description: "This domain's settings and usage" });
