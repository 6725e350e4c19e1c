/**
 * The API's rule for a new password (user/create, user/update), shared with the passwords set outside it:
 * OPENPDS_ADMIN_PASSWORD and `openpds admin reset-password` (config/password-rule.ts). A module of its own:
 * the CLI reads these two numbers without loading the routes (express, zod).
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
