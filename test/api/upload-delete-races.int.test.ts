/**
 * Uploads and folder creates racing deletes of what they write into, on PGlite and PostgreSQL. The races
 * really interleave only on PostgreSQL (PGlite runs one transaction at a time): there these failed before
 * the fixes, on PGlite they check the same answers on the serial orders. Found by the lock audit:
 * - file/create check_name_mode overwrite racing file/delete of the file it overwrites answered 500 (78 of
 *   200: the session's foreign key, the file found without a row lock and deleted before the insert); with
 *   recyclebin/trash instead, the new content went into the trashed file (130 of 200; now only when the
 *   create came first, as one call after the other would: the trash variant below checks the answers,
 *   which the old code gave too);
 * - drive/delete and user/delete racing file/complete deadlocked (503 on either side), and racing folder
 *   create and file/create answered 500 (the drive's foreign key): the delete locks the drive row and then
 *   the drive's rows, the others the other way round.
 */
import { accountingDrift, count } from '../support/accounting';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient, type ApiResponse } from '../support/test-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['pg', 'pglite'] as const)('upload and delete races on %s', (dbKind) => {
  // Fewer on PGlite: nothing interleaves there, each try only checks a serial order.
  const TRIES = dbKind === 'pg' ? 20 : 6;
  // user/delete tries cost a user each (a password hash): fewer.
  const USER_TRIES = dbKind === 'pg' ? 10 : 4;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let adminToken: string;

  /** Counts answers by call, status and code, so a failure says how often each went wrong (not only the first). */
  class Tally {
    readonly seen = new Map<string, number>();
    add(label: string, r: ApiResponse): ApiResponse {
      const key = `${label}:${r.status}${r.status >= 300 ? `:${r.body.code}` : ''}`;
      this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
      return r;
    }
    serverErrors = () => [...this.seen].filter(([k]) => /:5\d\d:/.test(k)).map(([k, n]) => `${k} ×${n}`);
  }
  async function upload(t: string, d: string, name: string, body: string, mode = 'auto_rename') {
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'file', check_name_mode: mode, size: Buffer.byteLength(body) }, t);
    const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body });
    expect(put.ok).toBe(true);
    return { file_id: created.file_id as string, upload_id: created.upload_id as string };
  }

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    adminToken = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it.each([
    ['deleted', '/v2/file/delete'],
    ['trashed', '/v2/recyclebin/trash'],
  ])('overwrites a file being %s, or creates a new live file when that came first: never 500', async (_what, endpoint) => {
    const u = await createLoggedInUser(api, `ow-${endpoint.split('/')[2]}`);
    const [t, d] = [u.access_token, u.default_drive_id];
    const tally = new Tally();
    for (let i = 0; i < TRIES; i++) {
      const name = `x${i}.txt`;
      const old = await upload(t, d, name, `old-${i}`);
      await api.ok('/v2/file/complete', { drive_id: d, ...old }, t);
      const body = `new-${i}`;
      const [created, gone] = await Promise.all([
        api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'file', check_name_mode: 'overwrite', size: body.length }, t),
        sleep(Math.random() * 6).then(() => api.call(endpoint, { drive_id: d, file_id: old.file_id }, t)),
      ]);
      tally.add('file/create', created);
      tally.add(endpoint, gone);
      if (created.status !== 201 || gone.status >= 300) continue;
      await fetch(created.body.part_info_list[0].upload_url, { method: 'PUT', body });
      const done = await api.call('/v2/file/complete', { drive_id: d, file_id: created.body.file_id, upload_id: created.body.upload_id }, t);
      if (created.body.file_id !== old.file_id) {
        // The delete or trash came first: the name was free, a new live file holds the content.
        expect(done.status).toBe(200);
        expect((await api.ok('/v2/file/get', { drive_id: d, file_id: created.body.file_id }, t)).name).toBe(name);
      } else if (endpoint === '/v2/file/delete') {
        // The create came first; the delete then took the file with its upload session.
        expect([done.status, done.body.code]).toEqual([404, 'NotFound.UploadId']);
      } else {
        // The create came first, then the trash: the upload completes the file it overwrote, as it would
        // have one call after the other.
        expect(done.status).toBe(200);
      }
    }
    expect(tally.serverErrors()).toEqual([]);
    expect([...tally.seen.keys()].filter((k) => !k.endsWith(':201') && !k.endsWith(':200') && !k.endsWith(':204'))).toEqual([]);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  }, 60_000);

  it.each(['drive', 'user'] as const)(
    'answers %s/delete racing completes, creates and folder creates in the drive with 2xx or 404, never a deadlock or 500',
    async (what) => {
      const owner = await createLoggedInUser(api, `dd-${what}`);
      const tally = new Tally();
      for (let i = 0; i < (what === 'user' ? USER_TRIES : TRIES); i++) {
        let [t, d, uid] = [owner.access_token, '', ''];
        if (what === 'drive') {
          d = (await api.ok('/v2/drive/create', { drive_name: `d${i}`, owner: owner.user_id }, adminToken)).drive_id;
        } else {
          const v = await createLoggedInUser(api, `dd-${what}-${i}`);
          [t, d, uid] = [v.access_token, v.default_drive_id, v.user_id];
        }
        const ups = [];
        for (let k = 0; k < 3; k++) ups.push(await upload(t, d, `f${k}.txt`, `c-${i}-${k}`));
        const calls: [string, Promise<ApiResponse>][] = [
          ...ups.map((up) => ['complete', api.call('/v2/file/complete', { drive_id: d, ...up }, t)] as [string, Promise<ApiResponse>]),
          ['create', api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'n.txt', type: 'file', check_name_mode: 'auto_rename', size: 3 }, t)],
          // A declared hash: the transactional path (no stored content has it, so an upload opens).
          ['create-tx', api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'm.txt', type: 'file', check_name_mode: 'auto_rename', size: 3, content_hash: 'a'.repeat(40) }, t)],
          ['mkdir', api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'dir', type: 'folder', check_name_mode: 'refuse' }, t)],
          [
            `${what}/delete`,
            sleep(Math.random() * 8).then(() =>
              what === 'drive' ? api.call('/v2/drive/delete', { drive_id: d }, adminToken) : api.call('/v2/user/delete', { user_id: uid }, adminToken),
            ),
          ],
        ];
        for (const [label, call] of calls) {
          tally.add(label, await call);
        }
      }
      expect(tally.serverErrors()).toEqual([]);
      // Anything else than a success is 404 (the drive or its session gone) or, after user/delete, 401
      // (the caller gone); the delete itself always succeeds.
      const unexpected = [...tally.seen.keys()].filter((k) => !/:20[014]$/.test(k) && !/:404:NotFound\./.test(k) && !/:401:/.test(k));
      expect(unexpected).toEqual([]);
      expect([...tally.seen.keys()].filter((k) => k.startsWith(`${what}/delete:`) && !/:20\d$/.test(k))).toEqual([]);
      expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM files f WHERE NOT EXISTS (SELECT 1 FROM drives d WHERE d.drive_id = f.drive_id)`)).toBe(0);
      expect(await accountingDrift(server.deps.db)).toEqual([]);
    },
    60_000,
  );
});
