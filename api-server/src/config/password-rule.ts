/**
 * The API's rule for a new password (users.routes.ts), for the passwords set outside the API:
 * OPENPDS_ADMIN_PASSWORD when `serve` creates the superadmin, and `openpds admin reset-password
 * --password-stdin`. Both took any non-empty password (red team F3: `a` was a superadmin's password), and
 * one over the maximum made a superadmin that account/login, which takes at most that many, can never let
 * in. Checked when a password is set, never against one already stored: a data dir whose superadmin got a
 * short password before keeps starting and logging in.
 */
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../modules/users/password-limits';

/** Why `password` may not be set, as "<what> must ..." (never quoting the password); undefined when it may. */
export function newPasswordProblem(password: string, what: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `${what} must be at least ${PASSWORD_MIN_LENGTH} characters, as the API requires for any password; got ${password.length}`;
  if (password.length > PASSWORD_MAX_LENGTH) return `${what} must be at most ${PASSWORD_MAX_LENGTH} characters, as the API requires for any password; got ${password.length}`;
  return undefined;
}
