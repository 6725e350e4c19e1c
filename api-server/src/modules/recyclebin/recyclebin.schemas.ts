/** recyclebin/clear's answer; restore and list answer File and FileList (files.schemas.ts). */
import { z } from 'zod';

export const clearRecyclebinResponseSchema = z.strictObject({ purged_count: z.number().int().describe('trashed files and folders purged') }).meta({ id: 'ClearRecyclebinResponse' });
