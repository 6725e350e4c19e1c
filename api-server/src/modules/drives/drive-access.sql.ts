/**
 * Who may use a drive's files, said in SQL for the one-statement paths (the upload fast paths, the rapid
 * upload holder check, downloads) exactly as drives.service's getAccessible says it in code: the owner
 * (of a drive owned as a user: a group's drive named like a user id is not that user's, see getVisible);
 * a superadmin; an admin, unless the drive is an admin's or a superadmin's (only a superadmin manages
 * those accounts, and so their drives). These paths said `admin OR owner` before, so an admin who knew a
 * superadmin's file id downloaded it, and could rapid-upload a copy of it into their own drive.
 */
import type { AuthContext } from '../auth/auth.types';

export type AdminScope = 'all' | 'users' | 'none';

/** How far the caller's admin power reaches: every drive, users' drives, or none. */
export const adminScope = (auth: Pick<AuthContext, 'role'>): AdminScope => (auth.role === 'superadmin' ? 'all' : auth.role === 'admin' ? 'users' : 'none');

/**
 * A condition on the drives row aliased `d` (which carries domain_id, owner_type, owner_id): the caller
 * (`userParam`, e.g. '$4') with the scope `scopeParam` (an AdminScope) may use it.
 */
export function mayUseDrive(d: string, userParam: string, scopeParam: string): string {
  return `((${d}.owner_type = 'user' AND ${d}.owner_id = ${userParam}) OR ${scopeParam}::text = 'all' OR (${scopeParam}::text = 'users' AND NOT EXISTS (
    SELECT 1 FROM users ou WHERE ${d}.owner_type = 'user' AND ou.domain_id = ${d}.domain_id AND ou.user_id = ${d}.owner_id AND ou.role <> 'user')))`;
}
