/**
 * file/delete of a folder racing a trash of it, or of its folder (red team, concurrent tree operations).
 * The delete read the folder live, then took the tree lock the trash held: it deleted the folder's row
 * alone, its subtree being trashed by then. What was trashed with it stayed in the bin under a trash root
 * that was gone (never listed, restored or purged, its bytes counted against the quota for good), or came
 * back, at a restore of the outer folder, under a parent that was gone. The race is made certain here: the
 * drive's tree lock is held while the trash and then the delete queue behind it.
 */
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { accountingDrift, count } from '../support/accounting';
import { serverWithUser, type ApiClient, type ApiResponse, type TestServer } from '../support/test-server';

describe.each(['pg', 'pglite'] as const)('file/delete racing recyclebin/trash on %s', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'racer', (ready) => {
    ({ server, api } = ready);
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  const call = (path: string, body: Record<string, unknown>) => api.call(path, { drive_id: d, ...body }, t);
  const mkdir = async (parent: string, name: string): Promise<string> => (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder' }, t)).file_id;
  const upload = async (parent: string, name: string, bytes: Buffer): Promise<string> => {
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'file', size: bytes.length }, t);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: bytes })).status).toBe(200);
    return (await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t)).file_id;
  };
  const advisoryWaiters = async () => count(server.deps.db, `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);

  /**
   * Runs `first`, then `second`, each held at the drive's tree lock (on PostgreSQL: queued behind it, in
   * that order; on PGlite, whose one connection runs a transaction at a time, queued behind the holder's).
   */
  async function heldBehindTreeLock(first: () => Promise<ApiResponse>, second: () => Promise<ApiResponse>): Promise<[ApiResponse, ApiResponse]> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = server.deps.db.transaction(async (tx) => {
      await createFilesRepository().lockTree(tx, d, 'exclusive');
      locked();
      await released;
    });
    await isLocked;
    const waitFor = async (waiters: number) => {
      if (dbKind === 'pglite') return new Promise((r) => setTimeout(r, 150));
      for (const until = Date.now() + 10_000; (await advisoryWaiters()) < waiters; ) {
        if (Date.now() > until) throw new Error(`fewer than ${waiters} waiting on the tree lock`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const a = first();
    await waitFor(1);
    const b = second();
    await waitFor(2);
    release();
    await holder;
    return Promise.all([a, b]);
  }

  const rowsUnder = (rootId: string) =>
    count(server.deps.db, `WITH RECURSIVE down AS (SELECT file_id FROM files WHERE file_id = $1 UNION SELECT f.file_id FROM files f JOIN down ON f.parent_file_id = down.file_id) SELECT count(*)::int AS n FROM down`, [rootId]);
  const strandedTrash = () =>
    count(server.deps.db, `SELECT count(*)::int AS n FROM files f WHERE f.drive_id = $1 AND f.trashed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM files r WHERE r.file_id = f.trash_root_id AND r.trashed_at IS NOT NULL)`, [d]);
  const orphans = () =>
    count(server.deps.db, `SELECT count(*)::int AS n FROM files f WHERE f.drive_id = $1 AND f.trashed_at IS NULL AND f.parent_file_id <> 'root' AND NOT EXISTS (SELECT 1 FROM files p WHERE p.file_id = f.parent_file_id AND p.trashed_at IS NULL)`, [d]);

  it('a folder trashed just before its delete goes for good with everything trashed with it', async () => {
    const folder = await mkdir('root', 'doomed');
    const inner = await mkdir(folder, 'inner');
    await upload(inner, 'a.bin', Buffer.alloc(1000, 1));
    const usedBefore = (await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size;

    const [trashed, deleted] = await heldBehindTreeLock(
      () => call('/v2/recyclebin/trash', { file_id: folder }),
      () => call('/v2/file/delete', { file_id: folder }),
    );
    expect([trashed.status, deleted.status]).toEqual([204, 204]);
    expect(await rowsUnder(folder)).toBe(0);
    expect(await strandedTrash()).toBe(0);
    expect((await api.ok('/v2/recyclebin/list', { drive_id: d }, t)).items).toEqual([]);
    expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(usedBefore - 1000);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it("a folder trashed with its folder just before its delete is 404 and comes back whole with that folder's restore", async () => {
    const outer = await mkdir('root', 'outer');
    const folder = await mkdir(outer, 'kept');
    const inner = await mkdir(folder, 'inner');
    await upload(inner, 'b.bin', Buffer.alloc(500, 2));

    const [trashed, deleted] = await heldBehindTreeLock(
      () => call('/v2/recyclebin/trash', { file_id: outer }),
      () => call('/v2/file/delete', { file_id: folder }),
    );
    expect([trashed.status, deleted.status, deleted.body?.code]).toEqual([204, 404, 'NotFound.File']);
    expect(await strandedTrash()).toBe(0);
    expect((await call('/v2/recyclebin/restore', { file_id: outer })).status).toBe(200);
    expect(await orphans()).toBe(0);
    expect(await rowsUnder(outer)).toBe(4);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });
});
