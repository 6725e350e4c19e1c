import { randomInt } from 'node:crypto';
import { isUniqueViolation, type Queryable } from '../../db/db';
import { AppError, badRequest, forbidden, notFound } from '../../shared/errors';
import type { Deps } from '../../shared/deps';
import { checkChangedDisplayText } from '../../shared/display-text';
import { toPage } from '../../shared/page';
import { isAdmin, type AuthContext, type Role } from '../auth/auth.types';
import { createLoginThrottle } from '../auth/login-throttle';
import type { PasswordCheckSlots } from '../auth/password-check-slots';
import { createPasswordHasher } from '../auth/password-hash';
import { createDrivesRepository } from '../drives/drives.repository';
import type { DrivesService } from '../drives/drives.service';
import { createUsersRepository, type UserSearch, type UserPatch, type UserRow } from './users.repository';
import type { UserResponse } from './users.schemas';

/** user_id and user_name: at least one (the routes check it); each defaults to the other, the id to a new one. */
export interface CreateUserInput {
  user_id?: string;
  user_name?: string;
  password?: string;
  nick_name?: string;
  email?: string;
  phone?: string;
  description?: string;
  avatar?: string;
  role?: Role;
  status?: 'enabled' | 'disabled';
  user_data?: Record<string, unknown>;
}

const errors = {
  notFound: (id: string) => notFound('User', `user ${id} does not exist`),
  exists: (name: string) => new AppError('AlreadyExist.User', 409, `a user named ${name} already exists`),
  idTaken: (id: string) => new AppError('AlreadyExist.User', 409, `a user with id ${id} already exists`),
  // Drives name their owner by id alone (drives_one_default_key, drive visibility): a user with a group's
  // name as id would own that group's drives.
  idIsGroup: (id: string) => new AppError('AlreadyExist.User', 409, `${id} already owns drives (a group); choose another user id`),
  // A Drive CR names its owner by user id or user name (the operator tries the id first), and user/get by
  // id: each must name one user. Names compare case-insensitively (users_name_key), so these do too.
  idIsName: (id: string, holder: string) =>
    new AppError('AlreadyExist.User', 409, `user id ${id} is the user name of another user (${holder}); choose another user id`),
  nameIsId: (name: string, holder: string) =>
    new AppError('AlreadyExist.User', 409, `user name ${name} is the user id of another user (${holder}); choose another user name`),
  adminOnly: () => forbidden('User', 'only an admin can manage users'),
  superadminOnly: () => forbidden('Role', 'only a superadmin can grant or change admin roles'),
  adminTarget: () => forbidden('Role', 'only a superadmin can change or delete an admin or a superadmin'),
  oldPasswordMissing: () => badRequest('InvalidParameter.OldPassword', 'old_password is required to change your own password'),
  oldPasswordWrong: () => forbidden('OldPasswordMismatch', 'old_password is not your current password'),
  throttled: (ms: number) =>
    new AppError('TooManyRequests.PasswordChange', 429, 'too many wrong old passwords for this user; try again later', {
      headers: { 'Retry-After': String(Math.ceil(ms / 1000)) },
    }),
  lastSuperadmin: () => forbidden('LastSuperadmin', 'the last enabled superadmin cannot be deleted, demoted or disabled'),
  limitReached: (max: number) =>
    new AppError('Forbidden.UserLimitExceeded', 403, `the domain already has its maximum of ${max} users (OPENPDS_MAX_USERS); delete a user or raise the limit`, {
      data: { max_users: max },
    }),
};

export type UpdateUserInput = Omit<UserPatch, 'password_hash'> & { password?: string; old_password?: string };

/**
 * `slots` are the process's password-check slots, the ones logins take (app.ts): every hash and verify here
 * runs in one, and a full queue answers 503 ServiceUnavailable.Busy with Retry-After at once.
 */
export function createUsersService(deps: Pick<Deps, 'db' | 'newId' | 'config' | 'clock'> & Partial<Pick<Deps, 'logger'>>, drives: DrivesService, slots: PasswordCheckSlots) {
  const repo = createUsersRepository();
  const passwords = createPasswordHasher(deps.config);
  const drivesRepo = createDrivesRepository();
  const domainId = deps.config.domainId;
  // Guessing old_password with a stolen access token is password guessing too: its own throttle, keyed by
  // the user alone (the thief holds the token, so an address would not slow them down).
  const oldPasswordThrottle = createLoginThrottle(() => deps.clock.now(), deps.logger);

  const checkRoleChange = (auth: AuthContext | null, role: Role | undefined) => {
    if (auth && role && role !== 'user' && auth.role !== 'superadmin') throw errors.superadminOnly();
  };
  // Admins manage users; admins and superadmins are managed by a superadmin (or, for their own profile
  // and password, by themselves). Otherwise one admin could reset another's password and keep access.
  const checkTarget = (auth: AuthContext, target: UserRow) => {
    if (target.role !== 'user' && auth.role !== 'superadmin' && target.user_id !== auth.userId) throw errors.adminTarget();
  };

  /**
   * Refuses a change that would leave the domain without an enabled superadmin (nobody could manage admins
   * any more): `target` (read with forUpdate) stops being one when `after` says so. Decided under the
   * superadmin lock, so concurrent demotes, disables and deletes cannot each count the other one.
   */
  const keepAnEnabledSuperadmin = async (tx: Queryable, target: UserRow, after: { role: Role; status: UserRow['status'] } | 'deleted') => {
    if (target.role !== 'superadmin' || target.status !== 'enabled') return;
    if (after !== 'deleted' && after.role === 'superadmin' && after.status === 'enabled') return;
    if ((await repo.lockAndCountOtherSuperadmins(tx, domainId, target.user_id)) === 0) throw errors.lastSuperadmin();
  };

  /**
   * The new password's hash, in one password-check slot with, for a self-service change, the check of the
   * current password (an access token alone is not enough). A Busy refusal checked nothing, so it counts
   * against no limit (as a login's).
   */
  const hashNewPassword = async (user: UserRow, password: string, self: boolean, oldPassword: string | undefined): Promise<string> => {
    if (!self) return slots.run(() => passwords.hash(password));
    if (oldPassword === undefined) throw errors.oldPasswordMissing();
    const key = `old-password:${user.user_id}`;
    const wait = await oldPasswordThrottle.take(deps.db, key);
    if (wait > 0) throw errors.throttled(wait);
    let hash: string | null;
    try {
      hash = await slots.run(async () => (user.password_hash && (await passwords.verify(user.password_hash, oldPassword)) ? passwords.hash(password) : null));
    } catch (error) {
      await oldPasswordThrottle.refund(deps.db, key);
      throw error;
    }
    if (hash === null) throw errors.oldPasswordWrong();
    await oldPasswordThrottle.clear(deps.db, key);
    return hash;
  };

  return {
    /**
     * Creates the user and its default drive in one transaction. auth null = bootstrap by the system, which
     * creates the superadmin whatever OPENPDS_MAX_USERS says (it counts towards the limit all the same).
     */
    async create(auth: AuthContext | null, input: CreateUserInput): Promise<UserRow> {
      if (auth && !isAdmin(auth)) throw errors.adminOnly();
      checkRoleChange(auth, input.role);
      const userName = input.user_name ?? input.user_id;
      if (userName === undefined) throw badRequest('InvalidParameter.UserName', 'user_name or user_id is required');
      const password = input.password;
      const passwordHash = password ? await slots.run(() => passwords.hash(password)) : null;
      const maxUsers = deps.config.maxUsers;
      const userId = input.user_id ?? deps.newId();
      try {
        return await deps.db.transaction(async (tx) => {
          // Checked first, under a lock held until commit: concurrent creates cannot pass the limit together.
          if (auth && maxUsers > 0 && (await repo.lockAndCount(tx, domainId)) >= maxUsers) throw errors.limitReached(maxUsers);
          // User ids, user names and group owners are one namespace to whoever resolves a name: the operator
          // finds a Drive's owner by id, else by name, and drives know their owner by id. Checked under the
          // lock group drive/create takes on its owner too (drivesRepo.lockOwnerNames), so creates that would
          // clash take turns and the later one is refused.
          await drivesRepo.lockOwnerNames(tx, domainId, input.user_id !== undefined ? [userId, userName] : [userName]);
          if (input.user_id !== undefined) {
            // Two creates of one id take turns at the lock; the unique indexes (the default drive's, then the
            // user's: see the catch below) would catch the later one anyway.
            if (await repo.get(tx, domainId, userId)) throw errors.idTaken(userId);
            if ((await drivesRepo.list(tx, domainId, userId, '', 1)).length) throw errors.idIsGroup(userId);
            const named = await repo.getByName(tx, domainId, userId);
            if (named) throw errors.idIsName(userId, named.user_id);
          }
          // A generated id is 26 random hex digits: only the name can meet another user's id (or the given id's).
          const withId = await repo.getByIdIgnoringCase(tx, domainId, userName);
          if (withId) throw errors.nameIsId(userName, withId.user_id);
          const drive = await drives.insertDrive(tx, { drive_name: 'Default', owner: userId, default: true }, auth?.userId ?? null);
          return repo.insert(tx, {
            user_id: userId,
            domain_id: domainId,
            user_name: userName,
            // A caller-given id can be one a deleted user had: the access tokens that user still holds carry
            // its id and its token generation, and would pass AuthService.confirm for the new user if that
            // started at 0 too. A random start (2^-30 odds of meeting an old one) ends them.
            token_generation: randomInt(1, 2 ** 30),
            nick_name: input.nick_name ?? userName,
            email: input.email ?? '',
            phone: input.phone ?? '',
            description: input.description ?? '',
            avatar: input.avatar ?? '',
            role: input.role ?? 'user',
            status: input.status ?? 'enabled',
            password_hash: passwordHash,
            default_drive_id: drive.drive_id,
            user_data: input.user_data ?? {},
            creator: auth?.userId ?? '',
          });
        });
      } catch (e) {
        if (isUniqueViolation(e, 'users_name_key')) throw errors.exists(userName);
        // Another create of this id committed first: its default drive (or, had it none, its row) is there.
        if (isUniqueViolation(e, 'drives_one_default_key') || isUniqueViolation(e, 'users_pkey')) throw errors.idTaken(userId);
        throw e;
      }
    },

    async get(auth: AuthContext, userId: string): Promise<UserRow> {
      if (!isAdmin(auth) && userId !== auth.userId) throw errors.notFound(userId);
      const user = await repo.get(deps.db, domainId, userId);
      if (!user) throw errors.notFound(userId);
      return user;
    },

    async list(auth: AuthContext, marker: string, limit: number) {
      if (!isAdmin(auth)) throw errors.adminOnly();
      const rows = await repo.list(deps.db, domainId, marker, limit + 1);
      return toPage(rows, limit, (last) => last.user_id);
    },

    async search(auth: AuthContext, filter: UserSearch, marker: string, limit: number) {
      if (!isAdmin(auth)) throw errors.adminOnly();
      const rows = await repo.search(deps.db, domainId, filter, marker, limit + 1);
      return toPage(rows, limit, (last) => last.user_id);
    },

    /**
     * Users may change their own profile, and their password given old_password; role and status need an
     * admin, and an admin's or superadmin's anything a superadmin. An admin resets a user's password
     * without the old one.
     */
    async update(auth: AuthContext, userId: string, input: UpdateUserInput): Promise<UserRow> {
      const self = userId === auth.userId;
      if (!isAdmin(auth) && (!self || input.role !== undefined || input.status !== undefined)) throw errors.adminOnly();
      checkRoleChange(auth, input.role);
      const { password, old_password, ...rest } = input;
      let passwordHash: string | undefined;
      if (password) {
        // Checked before the hashing (and outside the transaction: argon2 is slow); the transaction checks again.
        const current = await repo.get(deps.db, domainId, userId);
        if (!current) throw errors.notFound(userId);
        checkTarget(auth, current);
        passwordHash = await hashNewPassword(current, password, self, old_password);
      }
      const patch: UserPatch = { ...rest, ...(passwordHash ? { password_hash: passwordHash } : {}) };
      return deps.db.transaction(async (tx) => {
        // Locked for every update, not only a role or status change: read unlocked, a user being deleted
        // (user/delete holds the row while it deletes the drives) was still there, the UPDATE then waited
        // for the delete and changed no row, and the call answered 500 (a TypeError on the missing row;
        // 210 of 360 updates racing deletes, red team). Locked, it waits too and then finds no user: 404.
        const before = await repo.get(tx, domainId, userId, { forUpdate: true });
        if (!before) throw errors.notFound(userId);
        checkTarget(auth, before);
        checkChangedDisplayText('nick_name', input.nick_name, before.nick_name);
        await keepAnEnabledSuperadmin(tx, before, { role: input.role ?? before.role, status: input.status ?? before.status });
        // Disabling, a role change or a new password ends every session at its next refresh. Access tokens
        // are checked against the user on every call (AuthService.confirm): a role change applies to the
        // next call, and disabling or a new password ends them at once (the caller's own too, after a
        // self-service change: the client logs in again with the new password).
        if (input.status === 'disabled' || (input.role && input.role !== before.role) || password) await repo.deleteRefreshTokens(tx, userId);
        if (input.status === 'disabled' || password) await repo.bumpTokenGeneration(tx, domainId, userId);
        const updated = await repo.update(tx, domainId, userId, patch);
        if (!updated) throw errors.notFound(userId);
        return updated;
      });
    },

    /** Deletes the user; its own drives go with it (group drives stay). */
    async delete(auth: AuthContext, userId: string): Promise<void> {
      if (!isAdmin(auth)) throw errors.adminOnly();
      await deps.db.transaction(async (tx) => {
        // Locked, so a concurrent promotion of this user is seen: it would be deleted as a superadmin.
        const user = await repo.get(tx, domainId, userId, { forUpdate: true });
        if (!user) throw errors.notFound(userId);
        checkTarget(auth, user);
        await keepAnEnabledSuperadmin(tx, user, 'deleted');
        await drivesRepo.deleteOwnedByUser(tx, domainId, userId);
        await repo.delete(tx, domainId, userId);
      });
    },
  };
}
export type UsersService = ReturnType<typeof createUsersService>;

export const toUserResponse = (u: UserRow): UserResponse => ({
  domain_id: u.domain_id,
  user_id: u.user_id,
  user_name: u.user_name,
  nick_name: u.nick_name,
  email: u.email,
  phone: u.phone,
  description: u.description,
  avatar: u.avatar,
  role: u.role,
  status: u.status,
  default_drive_id: u.default_drive_id ?? '',
  user_data: u.user_data,
  creator: u.creator,
  created_at: u.created_at.getTime(),
  updated_at: u.updated_at.getTime(),
});
