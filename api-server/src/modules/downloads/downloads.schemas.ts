/** What file/get_download_url answers (PDS GetDownloadUrl's answer). */
import { z } from 'zod';
import { timestampField } from '../../shared/rpc';

export const downloadUrlResponseSchema = z
  .strictObject({
    url: z.string(),
    method: z.literal('GET'),
    expiration: timestampField,
    size: z.number().int(),
    content_hash: z.string(),
    content_hash_name: z.string(),
  })
  .meta({ id: 'GetDownloadUrlResponse' });
