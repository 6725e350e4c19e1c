/** What account/login and account/token answer (auth.service.ts issueTokens): PDS AccountAccessTokenResponse. */
import { z } from 'zod';
import { timestampField } from '../../shared/rpc';

export const tokenResponseSchema = z
  .strictObject({
    access_token: z.string(),
    refresh_token: z.string().describe('single use: account/token answers a new one'),
    expires_in: z.number().int().describe("the access token's lifetime, seconds"),
    expire_time: timestampField,
    token_type: z.literal('Bearer'),
    user_id: z.string(),
    user_name: z.string(),
    nick_name: z.string(),
    role: z.enum(['superadmin', 'admin', 'user']),
    default_drive_id: z.string(),
    domain_id: z.string(),
  })
  .meta({ id: 'AccountAccessTokenResponse', description: 'Tokens and who they are for (PDS AccountAccessTokenResponse)' });
