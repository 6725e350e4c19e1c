import type { Queryable } from '../../db/db';
import { setClause } from '../../db/set-clause';
import type { Role } from '../auth/auth.types';

export interface UserRow {
  user_id: string;
  domain_id: string;
  user_name: string;
  nick_name: string;
  email: string;
  phone: string;
  description: string;
  avatar: string;
  role: Role;
  status: 'enabled' | 'disabled';
  password_hash: string | null;
  default_drive_id: string | null;
  /** Bumped to end every access token of the user at once (migration 008). */
  token_generation: number;
  user_data: Record<string, unknown>;
  /** The user id that created this user; '' for the bootstrapped superadmin and users older than migration 022. */
  creator: string;
  created_at: Date;
  updated_at: Date;
}

export type UserPatch = Partial<Pick<UserRow, 'nick_name' | 'email' | 'phone' | 'description' | 'avatar' | 'role' | 'status' | 'password_hash' | 'default_drive_id' | 'user_data'>>;

/** /v2/user/search: every given field must match (exact; user name and email case-insensitively). */
export interface UserSearch {
  user_name?: string;
  nick_name?: string;
  /** A fragment of the nick name, case-insensitive. */
  nick_name_for_fuzzy?: string;
  email?: string;
  phone?: string;
  role?: Role;
  status?: UserRow['status'];
}

const PATCHABLE = ['nick_name', 'email', 'phone', 'description', 'avatar', 'role', 'status', 'password_hash', 'default_drive_id', 'user_data'] as const;

export function createUsersRepository() {
  return {
    async insert(db: Queryable, user: Omit<UserRow, 'created_at' | 'updated_at'>): Promise<UserRow> {
      const [row] = await db.query<UserRow>(
        `INSERT INTO users (user_id, domain_id, user_name, nick_name, email, phone, description, avatar, role, status,
           password_hash, default_drive_id, user_data, token_generation, creator)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
        [user.user_id, user.domain_id, user.user_name, user.nick_name, user.email, user.phone, user.description, user.avatar,
          user.role, user.status, user.password_hash, user.default_drive_id, JSON.stringify(user.user_data), user.token_generation, user.creator],
      );
      return row!;
    },
    /** forUpdate: the latest committed row, locked until the transaction ends (see lockAndCountOtherSuperadmins). */
    async get(db: Queryable, domainId: string, userId: string, options: { forUpdate?: boolean } = {}): Promise<UserRow | undefined> {
      const [row] = await db.query<UserRow>(
        `SELECT * FROM users WHERE domain_id = $1 AND user_id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
        [domainId, userId],
      );
      return row;
    },
    /**
     * Case-insensitive in ASCII only, as the unique (domain_id, lower(user_name)) index is: user_name is
     * COLLATE "C". A bare lower($2) would fold under the database's locale (C.UTF-8 maps İ to i), so
     * "alİce" would find "alice" while the index lets both exist.
     */
    async getByName(db: Queryable, domainId: string, userName: string): Promise<UserRow | undefined> {
      const [row] = await db.query<UserRow>(`SELECT * FROM users WHERE domain_id = $1 AND lower(user_name) = lower($2 COLLATE "C")`, [domainId, userName]);
      return row;
    },
    /**
     * The user whose id is `name` in any ASCII case, as user names compare (getByName): a user name must
     * be no other user's id (users.service create). Not indexed: read once per user/create.
     */
    async getByIdIgnoringCase(db: Queryable, domainId: string, name: string): Promise<UserRow | undefined> {
      const [row] = await db.query<UserRow>(
        `SELECT * FROM users WHERE domain_id = $1 AND lower(user_id COLLATE "C") = lower($2 COLLATE "C") ORDER BY user_id LIMIT 1`,
        [domainId, name],
      );
      return row;
    },
    /** What each authenticated call checks: the caller still exists, is enabled, and has this role now. */
    async getAccess(db: Queryable, domainId: string, userId: string): Promise<Pick<UserRow, 'role' | 'status' | 'token_generation'> | undefined> {
      const [row] = await db.query<Pick<UserRow, 'role' | 'status' | 'token_generation'>>(
        `SELECT role, status, token_generation FROM users WHERE user_id = $1 AND domain_id = $2`,
        [userId, domainId],
      );
      return row;
    },
    /** Ends every access token the user holds (AuthService.confirm compares generations). */
    async bumpTokenGeneration(db: Queryable, domainId: string, userId: string): Promise<void> {
      await db.query(`UPDATE users SET token_generation = token_generation + 1 WHERE domain_id = $1 AND user_id = $2`, [domainId, userId]);
    },
    /**
     * Stores the same password hashed with today's cost, unless the password changed meanwhile (the hash is
     * compared): no new token generation, since nothing the user knows changed, and no updated_at.
     */
    async replacePasswordHash(db: Queryable, userId: string, from: string, to: string): Promise<void> {
      await db.query(`UPDATE users SET password_hash = $3 WHERE user_id = $1 AND password_hash = $2`, [userId, from, to]);
    },
    async list(db: Queryable, domainId: string, after: string, limit: number): Promise<UserRow[]> {
      return db.query<UserRow>(`SELECT * FROM users WHERE domain_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, [domainId, after, limit]);
    },
    /**
     * One page of the users matching every given field, in list order. A user name uses the unique
     * (domain_id, lower(user_name)) index, which is what the operator asks for; the other filters read the
     * domain's users in user_id order.
     */
    async search(db: Queryable, domainId: string, filter: UserSearch, after: string, limit: number): Promise<UserRow[]> {
      const params: unknown[] = [domainId, after];
      const where = ['domain_id = $1', 'user_id > $2'];
      const add = (sql: (p: string) => string, value: unknown) => {
        params.push(value);
        where.push(sql(`$${params.length}`));
      };
      if (filter.user_name !== undefined) add((p) => `lower(user_name) = lower(${p} COLLATE "C")`, filter.user_name); // as getByName
      if (filter.nick_name !== undefined) add((p) => `nick_name = ${p}`, filter.nick_name);
      if (filter.nick_name_for_fuzzy) add((p) => `nick_name ILIKE ${p}`, `%${filter.nick_name_for_fuzzy.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      if (filter.email !== undefined) add((p) => `lower(email) = lower(${p})`, filter.email);
      if (filter.phone !== undefined) add((p) => `phone = ${p}`, filter.phone);
      if (filter.role !== undefined) add((p) => `role = ${p}`, filter.role);
      if (filter.status !== undefined) add((p) => `status = ${p}`, filter.status);
      params.push(limit);
      return db.query<UserRow>(`SELECT * FROM users WHERE ${where.join(' AND ')} ORDER BY user_id LIMIT $${params.length}`, params);
    },
    async update(db: Queryable, domainId: string, userId: string, patch: UserPatch): Promise<UserRow | undefined> {
      const params: unknown[] = [domainId, userId];
      const sets = setClause(patch, PATCHABLE, params, ['user_data']);
      const [row] = await db.query<UserRow>(`UPDATE users SET ${sets} WHERE domain_id = $1 AND user_id = $2 RETURNING *`, params);
      return row;
    },
    async delete(db: Queryable, domainId: string, userId: string): Promise<boolean> {
      return (await db.query(`DELETE FROM users WHERE domain_id = $1 AND user_id = $2 RETURNING user_id`, [domainId, userId])).length > 0;
    },
    /**
     * Takes the domain's user-count lock until the transaction ends and counts its users. Creates under a
     * limit take turns on it; the count is its own statement, so in READ COMMITTED it reads a snapshot taken
     * after the lock was granted and sees every user an earlier holder committed (a count in a conditional
     * INSERT would not: two creates would both see room for one more).
     */
    async lockAndCount(db: Queryable, domainId: string): Promise<number> {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`users-count:${domainId}`]);
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE domain_id = $1`, [domainId]);
      return row!.n;
    },
    /**
     * Takes the domain's superadmin lock until the transaction ends and counts the enabled superadmins
     * other than `userId`. Every demote, disable or delete of an enabled superadmin takes it before it
     * decides, so two of them at once take turns: the count is its own statement, read after the lock was
     * granted (READ COMMITTED), and sees what the earlier holder committed. Without it two superadmins
     * demoting each other both saw the other one and left none. Callers lock their target's row first
     * (get forUpdate) and no holder locks another user's row after it: one order, no deadlock.
     */
    async lockAndCountOtherSuperadmins(db: Queryable, domainId: string, userId: string): Promise<number> {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`superadmins:${domainId}`]);
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users WHERE domain_id = $1 AND role = 'superadmin' AND status = 'enabled' AND user_id <> $2`,
        [domainId, userId],
      );
      return row!.n;
    },
    async countByRole(db: Queryable, domainId: string, role: Role): Promise<number> {
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE domain_id = $1 AND role = $2`, [domainId, role]);
      return row!.n;
    },
    async saveRefreshToken(db: Queryable, tokenHash: string, userId: string, expiresAt: Date): Promise<void> {
      await db.query(`INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`, [tokenHash, userId, expiresAt]);
    },
    async deleteRefreshTokens(db: Queryable, userId: string): Promise<void> {
      await db.query(`DELETE FROM refresh_tokens WHERE user_id = $1`, [userId]);
    },
    /** Deletes and returns the token's owner: a refresh token works once (rotation). */
    async consumeRefreshToken(db: Queryable, tokenHash: string): Promise<{ user_id: string; expires_at: Date } | undefined> {
      const [row] = await db.query<{ user_id: string; expires_at: Date }>(
        `DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING user_id, expires_at`,
        [tokenHash],
      );
      return row;
    },
  };
}
export type UsersRepository = ReturnType<typeof createUsersRepository>;

/** Deletes refresh tokens past their expiry (the GC's pass; rotation deletes the ones that are used). */
export async function deleteExpiredRefreshTokens(db: Queryable, now: Date): Promise<number> {
  const [row] = await db.query<{ n: number }>(`WITH gone AS (DELETE FROM refresh_tokens WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`, [now]);
  return row!.n;
}
