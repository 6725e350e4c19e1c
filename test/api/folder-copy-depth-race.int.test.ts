/**
 * A folder copy checks OPENPDS_MAX_FOLDER_DEPTH against its source's deepest folder, then reads the subtree
 * it copies. It holds the source drive's tree lock shared only, so on PostgreSQL (read committed) a folder
 * created in the source between the two was copied too, one level past the limit (found in review). Now the rows
 * read are checked again: the copy answers 400 LimitExceeded.FolderDepth and inserts nothing. PostgreSQL
 * only: PGlite runs one transaction at a time, so nothing can come between the two statements there.
 */
import type { Db, Queryable } from '../../api-server/src/db/db';
import { folderLevel } from '../../api-server/src/modules/files/folder-depth.repository';
import { createLoggedInUser, startTestServer } from '../support/test-server';

const MAX = 3;
/** The copy's depth check (folder-depth.repository subfoldersDeeperThan): the copy is held right after it. */
const DEPTH_CHECK = /FROM down WHERE depth > \$3\) AS deeper/;

/**
 * Holds the first transaction that runs the depth check, after that statement, until `release`; `paused`
 * resolves when it is held. Every transaction is wrapped, so the copy's is whichever the service opens.
 */
function holdAfterDepthCheck(db: Db) {
  const original = db.transaction.bind(db);
  let release!: () => void;
  let onPause!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const paused = new Promise<void>((r) => (onPause = r));
  let done = false;
  db.transaction = <T>(fn: (tx: Queryable) => Promise<T>) =>
    original((tx) =>
      fn({
        exec: (sql: string) => tx.exec(sql),
        async query<R>(sql: string, params?: readonly unknown[]) {
          const rows = await tx.query<R>(sql, params);
          if (!done && DEPTH_CHECK.test(sql)) {
            done = true;
            onPause();
            await held;
          }
          return rows;
        },
      }),
    );
  return { paused, release, restore: () => void (db.transaction = original) };
}

describe('a folder copy whose source grows deeper while it runs, on pg', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('pg', 'local', { OPENPDS_MAX_FOLDER_DEPTH: String(MAX) });
  });
  afterAll(() => server?.stop());

  it('refuses with LimitExceeded.FolderDepth, copies nothing, and leaves no folder deeper than the limit', async () => {
    const { api } = server;
    const u = await createLoggedInUser(api, 'depth-copier');
    const d = u.default_drive_id;
    const mkdir = async (parent: string, name: string): Promise<string> =>
      (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder' }, u.access_token)).file_id;
    // src (level 1) / a (2); copied into dst (level 1): src at 2, a at 3, the limit. Allowed when asked.
    const src = await mkdir('root', 'src');
    const a = await mkdir(src, 'a');
    const dst = await mkdir('root', 'dst');

    const hold = holdAfterDepthCheck(server.deps.db);
    let copy: Promise<{ status: number; body: Record<string, unknown> }>;
    try {
      copy = api.call('/v2/file/copy', { drive_id: d, file_id: src, to_parent_file_id: dst }, u.access_token);
      // Fails here, not on the jest timeout, should the copy end without meeting the hook.
      await Promise.race([hold.paused, copy.then((r) => Promise.reject(new Error(`copy ended unheld: ${r.status}`)))]);
    } finally {
      hold.restore();
    }
    // src/a/b is level 3 where it is: allowed. Its copy would be dst/src/a/b, level 4.
    const b = await mkdir(a, 'b');
    hold.release();

    const answer = await copy;
    expect({ status: answer.status, code: answer.body.code, limit: answer.body.limit }).toEqual({ status: 400, code: 'LimitExceeded.FolderDepth', limit: MAX });
    const inDst = await api.ok('/v2/file/list', { drive_id: d, parent_file_id: dst }, u.access_token);
    expect(inDst.items).toEqual([]);
    const folders = await server.deps.db.query<{ file_id: string }>(`SELECT file_id FROM files WHERE drive_id = $1 AND type = 'folder'`, [d]);
    expect(folders.map((f) => f.file_id).sort()).toEqual([src, a, b, dst].sort());
    for (const f of folders) expect(await folderLevel(server.deps.db, d, f.file_id)).toBeLessThanOrEqual(MAX);

    // Without the race the same copy is refused by the check up front, and a shallower one still works.
    expect((await api.call('/v2/file/copy', { drive_id: d, file_id: src, to_parent_file_id: dst }, u.access_token)).body.code).toBe('LimitExceeded.FolderDepth');
    const copied = await api.ok('/v2/file/copy', { drive_id: d, file_id: a, to_parent_file_id: dst }, u.access_token);
    expect(await folderLevel(server.deps.db, d, copied.file_id)).toBe(2);
  });
});
