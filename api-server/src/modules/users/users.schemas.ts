/**
 * The user/* bodies and the User object the API answers, as in the PDS 2022-03-01 contract
 * (components.schemas.User, apis.CreateUser).
 */
import { z } from 'zod';
import { refineDisplayText } from '../../shared/display-text';
import { listResponse } from '../../shared/rpc';

/**
 * A caller-chosen user id (PDS CreateUser.user_id: a customer keeps its CRM's ids). Narrower than the
 * contract's 1–1024 of anything: ids travel in tokens, logs, throttle keys and the operator's Drive specs,
 * and a user name defaults to the id, so it must also be a valid user name (no spaces, slashes or NUL).
 * Generated ids (26 lowercase hex) fit the pattern and are not refused: a caller guessing a future one
 * would have to guess 56 random bits, and a taken id is a 409 anyway.
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@-]+$/;
export const newUserIdField = z
  .string()
  .min(1)
  .max(64)
  .regex(USER_ID_PATTERN, 'letters, digits, dots, underscores, @ and hyphens only')
  .describe('the new user id (1 to 64 of A-Z a-z 0-9 . _ @ -); generated when absent');

// A user name is shown (and the nick name when none is given): display text too (shared/display-text.ts).
export const userNameField = z.string().min(1).max(255).regex(/^[^\s/\0]+$/, 'no spaces, slashes or NUL').superRefine(refineDisplayText);

export const roleField = z.enum(['superadmin', 'admin', 'user']);
export const userStatusField = z.enum(['enabled', 'disabled']);

/** Timestamps are integer milliseconds since the epoch, as PDS's User (int64) and its SDKs decode them. */
const epochMs = z.number().int().describe('milliseconds since the Unix epoch');

/** What user/create, get, list, search and update answer for a user (PDS User). */
export const userResponseSchema = z
  .strictObject({
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
  creator: z.string().describe("the user id that created this user ('' for the bootstrapped superadmin and users created before OpenPDS recorded it)"),
  created_at: epochMs,
  updated_at: epochMs,
  })
  .meta({ id: 'User', description: 'A user (PDS User)' });
export type UserResponse = z.infer<typeof userResponseSchema>;

export const userPageSchema = listResponse('UserList', userResponseSchema);
