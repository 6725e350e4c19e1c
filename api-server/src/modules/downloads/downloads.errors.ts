import { forbidden } from '../../shared/errors';

/**
 * Why a signed download link's issuer no longer vouches for it. Bearer calls of a disabled user answer 401
 * AccessTokenInvalid, a code that tells a client to refresh its token: a link has no token to refresh, so
 * it answers 403 Forbidden.UserDisabled, the code login and refresh give a disabled user (auth.service.ts).
 * Losing the drive answers Forbidden.Drive, as an admin refused another admin's drive is (drives.errors.ts).
 */
export const downloadLinkErrors = {
  issuerDisabled: () => forbidden('UserDisabled', 'the user this link was issued to is disabled'),
  issuerLostDrive: (driveId: string) => forbidden('Drive', `the user this link was issued to no longer exists or can no longer read drive ${driveId}`),
};
