/**
 * `openpds admin reset-password [--user NAME] [--password-stdin]`: the way back in when the superadmin's
 * password is lost. It is printed once, at the first start, and OPENPDS_ADMIN_PASSWORD is read only when
 * the superadmin is created, so nothing else could change it without logging in. Straight against the
 * domain's database (the same configuration as `serve`); with the embedded PGlite the data directory is
 * locked while `openpds serve` runs, so the server must be stopped first.
 *
 * The reset is what a password change through the API does: the new hash (today's argon2 cost), the
 * user's refresh tokens deleted and its token generation bumped, so every session of the old password ends.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../api-server/src/config/config';
import type { Db } from '../api-server/src/db/db';
import { newPasswordProblem } from '../api-server/src/config/password-rule';
import { createPasswordHasher } from '../api-server/src/modules/auth/password-hash';
import { createUsersRepository } from '../api-server/src/modules/users/users.repository';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../api-server/src/modules/users/password-limits';

export const ADMIN_USAGE = `usage: openpds admin reset-password [--user NAME] [--password-stdin]

  reset-password    give the user a new random password, printed once, and end all its sessions
                    (access and refresh tokens). With the embedded database, stop \`openpds serve\` first.
  --user NAME       the user (default: admin, the superadmin created on first start)
  --password-stdin  read the new password from standard input (first line) instead; it is not printed.
                    The API's rule applies: ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters

Uses the same configuration as \`openpds serve\` (OPENPDS_DATA_DIR or OPENPDS_DATABASE_URL, OPENPDS_DOMAIN_ID,
OPENPDS_PASSWORD_HASH_*).`;

export interface AdminCommandDeps {
  env: Record<string, string | undefined>;
  openDb: (config: Config) => Promise<Db>;
  /** The new password's source with --password-stdin (process.stdin by default). */
  stdin?: NodeJS.ReadableStream;
  out?: { log(line: string): void; error(line: string): void };
}

/** Resolves to the exit code: 0 done, 1 refused (unknown user, database in use), 2 bad arguments. */
export async function runAdminCommand(argv: readonly string[], deps: AdminCommandDeps): Promise<number> {
  const out = deps.out ?? console;
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || argv.includes('--help') || argv.includes('-h')) {
    (sub === undefined ? out.error : out.log)(ADMIN_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'reset-password') {
    out.error(`openpds admin: unknown subcommand "${sub}"\n\n${ADMIN_USAGE}`);
    return 2;
  }
  let userName = 'admin';
  let fromStdin = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--user' && rest[i + 1]) userName = rest[++i]!;
    else if (arg.startsWith('--user=') && arg.length > 7) userName = arg.slice(7);
    else if (arg === '--password-stdin') fromStdin = true;
    else {
      out.error(`openpds admin: unexpected argument "${arg}"\n\n${ADMIN_USAGE}`);
      return 2;
    }
  }
  const config = loadConfig(deps.env);
  // Opening an embedded database that is not there would create an empty one, with no such user in it.
  const pgVersion = path.join(config.dataDir, 'db', 'PG_VERSION');
  if (!config.databaseUrl && !existsSync(pgVersion)) {
    out.error(`openpds admin: no database in the data directory ${config.dataDir} (${pgVersion} is missing): set OPENPDS_DATA_DIR to the one \`openpds serve\` uses, or OPENPDS_DATABASE_URL`);
    return 1;
  }
  let password: string;
  if (fromStdin) {
    password = (await readFirstLine(deps.stdin ?? process.stdin)).replace(/\r$/, '');
    if (!password) {
      out.error('openpds admin: --password-stdin read an empty password');
      return 2;
    }
    // The API's rule: the superadmin's password is the one that most needs it.
    const problem = newPasswordProblem(password, 'the password read by --password-stdin');
    if (problem) {
      out.error(`openpds admin: ${problem}: nothing changed`);
      return 2;
    }
  } else password = randomBytes(12).toString('base64url');

  let db: Db;
  try {
    db = await deps.openDb(config);
  } catch (error) {
    // The data-dir lock (db/data-dir-lock.ts): PGlite serves one process, and a running server holds it.
    if (error instanceof ConfigError && !config.databaseUrl) {
      out.error(`openpds admin: stop \`openpds serve\` first: ${error.message}`);
      return 1;
    }
    throw error;
  }
  try {
    const users = createUsersRepository();
    const user = await users.getByName(db, config.domainId, userName);
    if (!user) {
      out.error(`openpds admin: no user named "${userName}" in domain ${config.domainId}: nothing changed`);
      return 1;
    }
    // Hashed outside the transaction: argon2 is slow, and the row is only written once it is ready.
    const hash = await createPasswordHasher(config).hash(password);
    await db.transaction(async (tx) => {
      await users.update(tx, config.domainId, user.user_id, { password_hash: hash });
      await users.deleteRefreshTokens(tx, user.user_id);
      await users.bumpTokenGeneration(tx, config.domainId, user.user_id);
    });
    const ended = 'all its sessions ended (access and refresh tokens)';
    if (fromStdin) out.log(`openpds admin: password of "${user.user_name}" set from stdin; ${ended}`);
    else out.log(`openpds admin: new password of "${user.user_name}" (shown once): ${password}\n${ended}`);
    return 0;
  } finally {
    await db.close();
  }
}

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0] ?? '';
}
