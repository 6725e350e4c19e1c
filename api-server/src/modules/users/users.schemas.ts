/**
 * The user/* bodies and the User object the API answers, as in the PDS 2022-03-01 contract
 * (components.schemas.User).
 */
import { z } from 'zod';

export const roleField = z.enum(['superadmin', 'admin', 'user']);
export const userStatusField = z.enum(['enabled', 'disabled']);

/** Timestamps are integer milliseconds since the epoch, as PDS's User (int64) and its SDKs decode them. */
const epochMs = z.number().int().describe('milliseconds since the Unix epoch');

/** What user/create, get, list, search and update answer for a user. */
export const userResponseSchema = z.object({
  domain_id: z.string(),
  user_id: z.string(),
  user_name: z.string(),
  nick_name: z.string(),
  email: z.string(),
  phone: z.string(),
  description: z.string(),
  avatar: z.string(),
  role: roleField,
  status: userStatusField,
  /** '' when the user has no default drive (it was deleted). */
  default_drive_id: z.string(),
  user_data: z.record(z.string(), z.unknown()),
  created_at: epochMs,
  updated_at: epochMs,
});
export type UserResponse = z.infer<typeof userResponseSchema>;

export const userPageSchema = z.object({ items: z.array(userResponseSchema), next_marker: z.string() });
