import { AppError, conflict, forbidden, notFound } from '../../shared/errors';

export const driveErrors = {
  notFound: (driveId: string) => notFound('Drive', `drive ${driveId} does not exist or you cannot access it`),
  forbidden: () => forbidden('Drive', 'only an admin can do this with drives'),
  adminOwned: (driveId: string) =>
    forbidden('Drive', `drive ${driveId} belongs to an admin or a superadmin: only a superadmin (or its owner) can manage it or read its files`),
  adminOwner: (owner: string) => forbidden('Drive', `${owner} is an admin or a superadmin: only a superadmin creates drives for them`),
  groupIsUser: (owner: string) =>
    conflict('AlreadyExist.User', `${owner} is a user id: a group owner must not be one (the user would share its owner id); choose another group name`),
  ownerNotFound: (owner: string) => notFound('User', `owner ${owner} is not a user of this domain`),
  notEmpty: (driveId: string) => new AppError('Forbidden.DriveNotEmpty', 403, `drive ${driveId} still holds files; pass force: true to delete it with them`),
  disabled: (driveId: string) => forbidden('DriveDisabled', `drive ${driveId} is disabled: its files cannot be read or changed until an admin enables it`),
  defaultExists: (owner: string) => conflict('AlreadyExist.DefaultDrive', `${owner} already has a default drive; create this one with default: false`),
  quotaExhausted: (driveId: string) => new AppError('QuotaExhausted.Drive', 403, `drive ${driveId} has no space left for this file`),
};
