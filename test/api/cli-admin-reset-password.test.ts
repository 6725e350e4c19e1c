/**
 * `openpds admin reset-password`: the way back in when the superadmin's password, printed once at the first
 * start, is lost (OPENPDS_ADMIN_PASSWORD is read only when the superadmin is created). The reset ends the
 * user's sessions as a password change does, refuses a running embedded database and an unknown user, and
 * a start with a stale OPENPDS_ADMIN_PASSWORD says that it is ignored and names the command.
 */
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { runAdminCommand } from '../../cli/admin-command';
import { openDb, startServer } from '../../api-server/src/main';
import { logSink } from '../support/log-sink';
import { ADMIN_PASSWORD, createApiClient, testServerEnv } from '../support/test-server';

function capture() {
  const lines: string[] = [];
  return { lines, out: { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) } };
}

describe('openpds admin reset-password', () => {
  it('sets a new password printed once, ends the old sessions, refuses a running server and an unknown user', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local');
    try {
      let server = await startServer(env);
      const api = createApiClient(server.url);
      const session = await api.login('admin', ADMIN_PASSWORD);
      // The server holds the embedded database: the command says to stop it, and changes nothing.
      const busy = capture();
      expect(await runAdminCommand(['reset-password'], { env, openDb, out: busy.out })).toBe(1);
      expect(busy.lines.join('\n')).toMatch(/stop `openpds serve` first: the embedded database .* is in use/);
      await server.close();

      const reset = capture();
      expect(await runAdminCommand(['reset-password'], { env, openDb, out: reset.out })).toBe(0);
      const password = /new password of "admin" \(shown once\): (\S+)/.exec(reset.lines.join('\n'))?.[1];
      expect(password).toBeDefined();

      const unknown = capture();
      expect(await runAdminCommand(['reset-password', '--user', 'nobody'], { env, openDb, out: unknown.out })).toBe(1);
      expect(unknown.lines.join('\n')).toContain('no user named "nobody" in domain default');

      // OPENPDS_ADMIN_PASSWORD is still the old one: the start says it is ignored, without the password.
      const log = logSink();
      server = await startServer({ ...env, OPENPDS_LOG_LEVEL: 'info' }, { logDestination: log.stream });
      try {
        const warning = log.lines.find((l) => l.includes('OPENPDS_ADMIN_PASSWORD is set but is not the password'));
        expect(warning).toContain('openpds admin reset-password');
        expect(log.lines.join('\n')).not.toContain(ADMIN_PASSWORD);
        const again = createApiClient(server.url);
        expect((await again.call('/v2/drive/get_default_drive', {}, session.access_token)).status).toBe(401);
        expect((await again.call('/v2/account/token', { refresh_token: session.refresh_token })).status).toBe(401);
        expect((await again.call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).status).toBeGreaterThanOrEqual(400);
        const fresh = await again.login('admin', password!);
        expect((await again.call('/v2/drive/get_default_drive', {}, fresh.access_token)).status).toBe(200);
      } finally {
        await server.close();
      }

      // --password-stdin: the password given, not printed; a start with it in the variable says nothing.
      const chosen = capture();
      expect(await runAdminCommand(['reset-password', '--password-stdin'], { env, openDb, out: chosen.out, stdin: Readable.from([`${ADMIN_PASSWORD}\n`]) })).toBe(0);
      expect(chosen.lines.join('\n')).not.toContain(ADMIN_PASSWORD);
      const quiet = logSink();
      server = await startServer({ ...env, OPENPDS_LOG_LEVEL: 'info' }, { logDestination: quiet.stream });
      try {
        expect(quiet.lines.join('\n')).not.toContain('OPENPDS_ADMIN_PASSWORD is set');
        await createApiClient(server.url).login('admin', ADMIN_PASSWORD);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('lets in an admin who locked themselves out guessing: the new password is not refused by the throttle', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local');
    try {
      let server = await startServer(env);
      const guess = (url: string, password: string) =>
        fetch(`${url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) }).then((r) => r.status);
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push(await guess(server.url, `wrong-${i}`));
      expect(statuses.at(-1)).toBe(429);
      await server.close();

      const reset = capture();
      expect(await runAdminCommand(['reset-password'], { env, openDb, out: reset.out })).toBe(0);
      const password = /new password of "admin" \(shown once\): (\S+)/.exec(reset.lines.join('\n'))?.[1];
      server = await startServer(env);
      try {
        // Same address, within the 15-minute window: the count started again with the new password.
        expect(await guess(server.url, password!)).toBe(200);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('prints its usage on --help and exits 0 without touching a database', async () => {
    const help = capture();
    expect(await runAdminCommand(['reset-password', '--help'], { env: { OPENPDS_DATA_DIR: '/nonexistent/openpds' }, openDb: () => Promise.reject(new Error('opened')), out: help.out })).toBe(0);
    expect(help.lines[0]).toMatch(/^usage: openpds admin reset-password/);
  });
});
