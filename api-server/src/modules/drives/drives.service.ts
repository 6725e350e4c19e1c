import { isUniqueViolation, type Queryable } from '../../db/db';
import type { Deps } from '../../shared/deps';
import { checkChangedDisplayText } from '../../shared/display-text';
import { toPage } from '../../shared/page';
import { isAdmin, type AuthContext } from '../auth/auth.types';
import { driveErrors } from './drives.errors';
import { createDrivesRepository, type DrivePatch, type DriveRow } from './drives.repository';

export interface CreateDriveInput {
  drive_name: string;
  owner: string;
  owner_type?: 'user' | 'group';
  description?: string;
  total_size?: number | null;
  default?: boolean;
  drive_type?: string;
  status?: 'enabled' | 'disabled';
}

/** The user owns the drive: owned as a user, by their id (a group's owner id is only a name). */
export const ownedBy = (drive: Pick<DriveRow, 'owner_type' | 'owner_id'>, userId: string): boolean => drive.owner_type === 'user' && drive.owner_id === userId;

export function createDrivesService(deps: Pick<Deps, 'db' | 'newId' | 'config'>) {
  const repo = createDrivesRepository();
  const domainId = deps.config.domainId;

  /**
   * Admin power reaches users' drives (and groups'); an admin's or superadmin's drive only its owner or a
   * superadmin may manage or read, as only a superadmin manages admins' accounts (users.service's
   * checkTarget). Otherwise an admin could delete, disable or shrink a superadmin's drive, or read its
   * files, while being refused its nick_name.
   */
  const checkAdminPower = async (db: Queryable, auth: AuthContext, drive: DriveRow) => {
    if (auth.role === 'superadmin' || ownedBy(drive, auth.userId)) return;
    const ownerRole = await repo.ownerRole(db, domainId, drive);
    if (ownerRole === 'admin' || ownerRole === 'superadmin') throw driveErrors.adminOwned(drive.drive_id);
  };

  return {
    /** Inside an existing transaction (user creation makes the default drive in the same one). */
    async insertDrive(tx: Queryable, input: CreateDriveInput, createdBy: string | null): Promise<DriveRow> {
      return repo.insert(tx, {
        drive_id: deps.newId(),
        domain_id: domainId,
        drive_name: input.drive_name,
        description: input.description ?? '',
        owner_type: input.owner_type ?? 'user',
        owner_id: input.owner,
        drive_type: input.drive_type ?? 'normal',
        status: input.status ?? 'enabled',
        total_size: input.total_size === undefined ? deps.config.defaultDriveSize || null : input.total_size,
        is_default: input.default ?? false,
        created_by: createdBy,
      });
    },

    async create(auth: AuthContext, input: CreateDriveInput): Promise<DriveRow> {
      if (!isAdmin(auth)) throw driveErrors.forbidden();
      // An owner has at most one default drive (drives_one_default_key). A second is refused rather than
      // the flag moved: moving it would silently change the drive that user's clients open by default.
      return deps.db.transaction(async (tx) => {
        // A user's drive needs the user (a drive for nobody is reachable only by admins, and an owner created
        // later with that id would get it); a group's owner is a name (there is no group table to check).
        const userDefault = (input.owner_type ?? 'user') === 'user' && input.default === true;
        if ((input.owner_type ?? 'user') === 'user') {
          const role = await repo.lockOwner(tx, domainId, input.owner, { forUpdate: userDefault });
          if (!role) throw driveErrors.ownerNotFound(input.owner);
          // As with their accounts and their drives: an admin does not act for another admin or a superadmin
          // (a drive made for one, default or not, is one that admin could then not manage).
          if (auth.role === 'admin' && role !== 'user' && input.owner !== auth.userId) throw driveErrors.adminOwner(input.owner);
        } else {
          // A group named like a user id would share that user's owner id: their default drives meet at
          // drives_one_default_key, and every reader of owner_id alone would mix them up. Under the lock
          // user/create takes on its id too, so the two cannot both pass (users.service create).
          await repo.lockOwnerNames(tx, domainId, [input.owner]);
          if (await repo.isUserId(tx, domainId, input.owner)) throw driveErrors.groupIsUser(input.owner);
        }
        const drive = await this.insertDrive(tx, input, auth.userId);
        if (userDefault) await repo.setUserDefault(tx, domainId, input.owner, drive.drive_id);
        return drive;
      }).catch((e: unknown) => {
        if (isUniqueViolation(e, 'drives_one_default_key')) throw driveErrors.defaultExists(input.owner);
        throw e;
      });
    },

    /**
     * The drive if the caller may see it: its owner, or an admin. Otherwise NotFound (no existence leak).
     * Owned as a user: a group's owner id is a name an admin chose, and a user whose id it is (made before
     * the two were refused to clash, or by a path that forgot to check) must not get the group's drives.
     */
    async getVisible(auth: AuthContext, driveId: string, db: Queryable = deps.db): Promise<DriveRow> {
      const drive = await repo.get(db, domainId, driveId);
      if (!drive || (!isAdmin(auth) && !ownedBy(drive, auth.userId))) throw driveErrors.notFound(driveId);
      return drive;
    },

    /**
     * The drive if the caller may read and write its files: visible to them and enabled. Every file,
     * upload, download, revision and recycle-bin call resolves its drive here (or, on the one-statement
     * paths, checks the same in SQL), so a disabled drive is refused for everyone, admins included; only
     * drive/get, list, update and delete still see it, so an admin can enable it again. An admin's or
     * superadmin's drive is refused to other admins (checkAdminPower); the one-statement paths (uploads and
     * revisions repositories) say the same in SQL (drive-access.sql.ts).
     */
    async getAccessible(auth: AuthContext, driveId: string, db: Queryable = deps.db): Promise<DriveRow> {
      const drive = await this.getVisible(auth, driveId, db);
      if (drive.status !== 'enabled') throw driveErrors.disabled(driveId);
      await checkAdminPower(db, auth, drive);
      return drive;
    },

    /**
     * Another user's default drive only for admins; anyone else naming another user is 404, as user/get
     * answers them. It answered the caller's own drive instead, which a client asking for someone else's
     * could not tell from theirs.
     */
    async getDefault(auth: AuthContext, userId?: string): Promise<DriveRow> {
      if (userId !== undefined && userId !== auth.userId && !isAdmin(auth)) throw driveErrors.notFound(`default of ${userId}`);
      const owner = userId ?? auth.userId;
      const drive = await repo.getDefault(deps.db, domainId, owner);
      if (!drive) throw driveErrors.notFound(`default of ${owner}`);
      return drive;
    },

    async list(auth: AuthContext, input: { owner?: string; marker: string; limit: number; mine: boolean }) {
      // The caller's own drives are those owned as a user (getVisible). An admin's owner filter keeps both
      // kinds: the operator lists a group's drives by its name, and tells the kinds apart by owner_type.
      const own = input.mine || !isAdmin(auth);
      const owner = own ? auth.userId : (input.owner ?? null);
      const rows = await repo.list(deps.db, domainId, owner, input.marker, input.limit + 1, own ? 'user' : null);
      return toPage(rows, input.limit, (last) => last.drive_id);
    },

    async update(auth: AuthContext, driveId: string, patch: DrivePatch & { total_size?: number | null }): Promise<DriveRow> {
      if (!isAdmin(auth)) throw driveErrors.forbidden();
      const { total_size, ...rest } = patch;
      return deps.db.transaction(async (tx) => {
        const drive = await repo.get(tx, domainId, driveId, { forUpdate: true });
        if (!drive) throw driveErrors.notFound(driveId);
        await checkAdminPower(tx, auth, drive);
        checkChangedDisplayText('drive_name', rest.drive_name, drive.drive_name);
        return (await repo.update(tx, domainId, driveId, { ...rest, ...(total_size !== null ? { total_size } : {}) }, total_size === null))!;
      });
    },

    /** Deletes the drive and everything in it; blobs lose their references and the GC reclaims them. */
    async delete(auth: AuthContext, driveId: string): Promise<void> {
      if (!isAdmin(auth)) throw driveErrors.forbidden();
      await deps.db.transaction(async (tx) => {
        // A user's default drive: the owner's row is locked first, as user/delete locks it before it deletes
        // the user's drives (the other order deadlocked with it); owner and default never change.
        const seen = await repo.get(tx, domainId, driveId);
        const userDefault = seen?.is_default && seen.owner_type === 'user' ? seen.owner_id : null;
        if (userDefault !== null) await repo.lockOwner(tx, domainId, userDefault, { forUpdate: true });
        const drive = await repo.get(tx, domainId, driveId, { forUpdate: true });
        if (!drive) throw driveErrors.notFound(driveId);
        await checkAdminPower(tx, auth, drive);
        await repo.delete(tx, domainId, driveId);
        if (userDefault !== null) await repo.setUserDefault(tx, domainId, userDefault, null, driveId);
      });
    },
  };
}
export type DrivesService = ReturnType<typeof createDrivesService>;

/** The PDS Drive shape. total_size null means unlimited. */
export const toDriveResponse = (d: DriveRow) => ({
  domain_id: d.domain_id,
  drive_id: d.drive_id,
  drive_name: d.drive_name,
  description: d.description,
  creator: d.created_by ?? '',
  owner: d.owner_id,
  owner_type: d.owner_type,
  drive_type: d.drive_type,
  status: d.status,
  total_size: d.total_size,
  used_size: d.used_size,
  // Not in PDS: bytes that uploads in progress declared, which the quota counts until they complete or go.
  reserved_size: Number(d.reserved_size ?? 0),
  default: d.is_default,
  created_at: d.created_at.toISOString(),
  updated_at: d.updated_at.toISOString(),
});
