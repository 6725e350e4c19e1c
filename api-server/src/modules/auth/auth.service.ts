import { AppError, unauthorized } from '../../shared/errors';
import type { Deps } from '../../shared/deps';
import { createUsersRepository, type UserRow } from '../users/users.repository';
import type { AuthContext } from './auth.types';
import { createLoginThrottle } from './login-throttle';
import { createPasswordCheckSlots, type PasswordCheckSlots } from './password-check-slots';
import { createPasswordHasher, type PasswordHasher } from './password-hash';
import { hashRefreshToken, newRefreshToken } from './tokens';

const errors = {
  badCredentials: () => unauthorized('InvalidParameter.Credentials', 'user name or password is wrong'),
  disabled: () => new AppError('Forbidden.UserDisabled', 403, 'this user is disabled'),
  badRefresh: () => unauthorized('InvalidParameter.RefreshToken', 'refresh token is invalid, expired or already used'),
  badAccess: () => unauthorized('AccessTokenInvalid', 'access token is missing, invalid or expired'),
  // Same code as any dead token: a client refreshes on it, and the refresh is refused too.
  goneUser: () => unauthorized('AccessTokenInvalid', "access token's user has been deleted or disabled, or their password has changed"),
  throttled: (ms: number) =>
    new AppError('TooManyRequests.Login', 429, 'too many failed logins for this user; try again later', { headers: { 'Retry-After': String(Math.ceil(ms / 1000)) } }),
  addressThrottled: (ms: number) =>
    new AppError('TooManyRequests.Login', 429, 'too many failed logins from this address; try again later', { headers: { 'Retry-After': String(Math.ceil(ms / 1000)) } }),
};

/**
 * `passwords` and `slots` are for tests; the service makes its own from the configured cost. One service
 * per process (app.ts), so its slots bound the process's login checks (password-check-slots.ts).
 */
export function createAuthService(
  deps: Pick<Deps, 'db' | 'config' | 'tokens' | 'clock'> & Partial<Pick<Deps, 'logger'>>,
  passwords: PasswordHasher = createPasswordHasher(deps.config),
  slots: PasswordCheckSlots = createPasswordCheckSlots(),
) {
  const users = createUsersRepository();
  const domainId = deps.config.domainId;
  // With the logger, a user and address that start being refused are logged once (who is guessing).
  const throttle = createLoginThrottle(() => deps.clock.now(), deps.logger);
  passwords.prepareNobody();

  async function issueTokens(user: UserRow) {
    const accessToken = deps.tokens.signAccess({ sub: user.user_id, domain_id: user.domain_id, role: user.role, gen: user.token_generation }, deps.config.accessTokenTtl);
    const refreshToken = newRefreshToken();
    const expiresAt = new Date(deps.clock.now().getTime() + deps.config.refreshTokenTtl * 1000);
    await users.saveRefreshToken(deps.db, hashRefreshToken(refreshToken), user.user_id, expiresAt);
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: deps.config.accessTokenTtl,
      expire_time: new Date(deps.clock.now().getTime() + deps.config.accessTokenTtl * 1000).toISOString(),
      token_type: 'Bearer',
      user_id: user.user_id,
      user_name: user.user_name,
      nick_name: user.nick_name,
      role: user.role,
      default_drive_id: user.default_drive_id ?? '',
      domain_id: user.domain_id,
    };
  }

  return {
    /** `client` is the caller's address: failures are throttled per user (or unknown name) and address. */
    async login(userName: string, password: string, client = '') {
      const user = await users.getByName(deps.db, domainId, userName);
      // Keyed by the user the name resolves to, so every spelling that logs in as alice counts against
      // alice; a name nobody has is keyed as the lookup folds it (ASCII only, users.repository.ts). The
      // user's token generation is in the key: a new password (`openpds admin reset-password`, a password
      // change or reset; also a disable or role change) starts the count again, or an admin who locked
      // themselves out while guessing was refused the new password for the rest of the window (review).
      const throttleKey = `login:${user ? `id:${user.user_id}.${user.token_generation}` : `name:${asciiLower(userName)}`}\n${client}`;
      // Counted before the check: parallel guesses each take their turn against the limits. The address's
      // first (any names: made-up ones are each their own key below), without a client only the user's.
      const addressWait = client ? await throttle.takeAddress(deps.db, client) : 0;
      if (addressWait > 0) throw errors.addressThrottled(addressWait);
      const wait = await throttle.take(deps.db, throttleKey, user ? { user_id: user.user_id, user_name: userName, address: client } : { user_name: userName, address: client });
      if (wait > 0) {
        if (client) await throttle.refundAddress(deps.db, client);
        throw errors.throttled(wait);
      }
      // An unknown name (or a user without a password) costs a check all the same: timing reveals no names.
      // A hash made with another cost than today's (OPENPDS_PASSWORD_HASH_*) verifies in its own time: after
      // the cost is raised, a wrong password for a user who has not logged in since answered in a fraction
      // of an unknown name's time, which told the names apart. A wrong one therefore also pays today's
      // check; a right one pays today's hash below. All of it in one slot (password-check-slots.ts).
      const stored = user?.password_hash;
      const stale = !!stored && passwords.needsRehash(stored);
      let ok: boolean;
      try {
        ok = await slots.run(async () => {
          const right = stored ? await passwords.verify(stored, password) : void (await passwords.verifyNobody(password));
          if (stale && !right) await passwords.verifyNobody(password);
          return !!right;
        });
      } catch (error) {
        // Busy: no password was checked, so the attempt counts against neither limit.
        await Promise.all([throttle.refund(deps.db, throttleKey), client && throttle.refundAddress(deps.db, client)]);
        throw error;
      }
      if (!user || !stored || !ok) throw errors.badCredentials();
      await throttle.clear(deps.db, throttleKey);
      // A success gives the address its attempt back: only failures add up there.
      if (client) await throttle.refundAddress(deps.db, client);
      if (user.status !== 'enabled') throw errors.disabled();
      // Stored again with today's cost. Best effort, the hash included (one catch), and only when a slot is
      // free: the login stands if it fails, and the next one tries again.
      if (stale) {
        await slots
          .run(() => passwords.hash(password))
          .then((fresh) => users.replacePasswordHash(deps.db, user.user_id, stored, fresh))
          .catch(() => undefined);
      }
      return issueTokens(user);
    },

    async refresh(refreshToken: string) {
      const row = await users.consumeRefreshToken(deps.db, hashRefreshToken(refreshToken));
      if (!row || row.expires_at.getTime() < deps.clock.now().getTime()) throw errors.badRefresh();
      const user = await users.get(deps.db, domainId, row.user_id);
      if (!user) throw errors.badRefresh();
      if (user.status !== 'enabled') throw errors.disabled();
      return issueTokens(user);
    },

    /**
     * Bearer token → caller, or AccessTokenInvalid. Signature only: the caller is not yet known to still
     * exist, so every authenticated call then goes through `confirm`.
     */
    authenticate(header: string | undefined): AuthContext {
      const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
      const claims = match ? deps.tokens.verifyAccess(match[1]!) : null;
      if (!claims || claims.domain_id !== domainId) throw errors.badAccess();
      return { userId: claims.sub, domainId: claims.domain_id, role: claims.role, tokenGeneration: claims.gen ?? 0, accessToken: match![1]! };
    },

    /**
     * The caller as the database has them now: the token of a deleted or disabled user, or one signed
     * before a password change (an older token_generation), stops working at once (not when it expires, up
     * to OPENPDS_ACCESS_TOKEN_TTL later) and a role change applies to the next call. One primary-key read
     * per call.
     */
    async confirm(auth: AuthContext): Promise<AuthContext> {
      const current = await users.getAccess(deps.db, auth.domainId, auth.userId);
      if (!current || current.status !== 'enabled' || current.token_generation !== (auth.tokenGeneration ?? 0)) throw errors.goneUser();
      return current.role === auth.role ? auth : { ...auth, role: current.role };
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;

/** Case folding as PostgreSQL's lower() under COLLATE "C" does it. */
export const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
