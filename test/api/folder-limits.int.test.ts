/**
 * A copy, trash or delete of a folder is one transaction that grows with the tree; on PGlite (one
 * connection) every other request waits for it. The red team copied a folder of 8k rows in 8.5 s, 16k in
 * 29.5 s, 32k in 114 s: each level of the walk down the tree scanned the whole table (no index served
 * `parent_file_id = … AND trashed_at IS NULL`, and PGlite has no statistics, so the planner nested the scan in
 * a loop: O(n²)). Migration 013 adds the index; OPENPDS_MAX_FOLDER_ITEMS refuses a bigger folder up front
 * with 400 LimitExceeded.FolderItems, counted in one statement before any work.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../api-server/src/db/db';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { subtreeExceeds } from '../../api-server/src/modules/files/subtree-size.repository';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const MAX = 50;

describe.each(['pglite', 'pg'] as const)('folder size limit on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let t: string;
  let d: string;
  const call = (path: string, body: Record<string, unknown>) => api.call(path, { drive_id: d, ...body }, t);
  const mkdir = async (parent: string, name: string): Promise<string> =>
    (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder' }, t)).file_id;
  /** `count` folders under parent, each under the one before when deep, all under parent when wide. */
  const insert = async (parent: string, count: number, shape: 'wide' | 'deep'): Promise<string[]> => {
    const ids = Array.from({ length: count }, () => `t${randomBytes(8).toString('hex')}`);
    const parents = ids.map((_, i) => (shape === 'wide' || i === 0 ? parent : ids[i - 1]!));
    await server.deps.db.query(
      `INSERT INTO files (file_id, drive_id, parent_file_id, name, type) SELECT i, $1, p, 'f' || o, 'folder' FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(i, p, o)`,
      [d, ids, parents],
    );
    return ids;
  };
  const live = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM files WHERE drive_id = $1 AND trashed_at IS NULL`, [d]))[0]!.n;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local', { OPENPDS_MAX_FOLDER_ITEMS: String(MAX) });
    api = server.api;
    const user = await createLoggedInUser(api, 'limituser');
    t = user.access_token;
    d = user.default_drive_id;
  });
  afterAll(() => server?.stop());

  it.each(['wide', 'deep'] as const)(`copies, trashes and deletes a %s folder of ${MAX} items, and refuses one more up front`, async (shape) => {
    const f = await mkdir('root', `${shape}-at-limit`);
    const [first] = await insert(f, MAX - 1, shape);
    const copy = await api.ok('/v2/file/copy', { drive_id: d, file_id: f, to_parent_file_id: 'root' }, t);
    await api.ok('/v2/file/delete', { drive_id: d, file_id: copy.file_id }, t);

    await insert(shape === 'wide' ? f : (await server.deps.db.query<{ file_id: string }>(`SELECT file_id FROM files WHERE parent_file_id = $1`, [f]))[0]!.file_id, 1, 'wide');
    const before = await live();
    for (const [path, extra] of [
      ['/v2/file/copy', { to_parent_file_id: 'root' }],
      ['/v2/recyclebin/trash', {}],
      ['/v2/file/delete', {}],
    ] as const) {
      const refused = await call(path, { file_id: f, ...extra });
      expect({ status: refused.status, code: refused.body.code, limit: refused.body.limit }).toEqual({ status: 400, code: 'LimitExceeded.FolderItems', limit: MAX });
      expect(refused.body.message).toMatch(/a subfolder at a time/);
    }
    expect(await live()).toBe(before);
    // A subfolder at a time, as the message says.
    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: first }, t);
    await api.ok('/v2/file/delete', { drive_id: d, file_id: f }, t);
  }, 60_000);

  it('walks a folder through an index, one lookup per folder, not a scan of the table (migration 013)', async () => {
    const top = await mkdir('root', 'indexed');
    const [first] = await insert(top, 1500, 'wide');
    await insert(first!, 1500, 'deep');
    // The walks' statements as they run (recorded, not run), then their plans on the real table. Without
    // statistics (PGlite never gathers any) a plan that scans the table per level of the walk is O(n²).
    const walks: [string, unknown[]][] = [];
    const recorder: Queryable = {
      query: async (sql, params) => {
        if (sql.includes('WITH RECURSIVE')) walks.push([sql, [...(params ?? [])]]);
        return [{ n: 0 }] as never[];
      },
      exec: async () => undefined,
    };
    const repo = createFilesRepository();
    await repo.subtree(recorder, d, top);
    await repo.trashSubtree(recorder, d, top);
    await subtreeExceeds(recorder, d, top, 100_000);
    expect(walks).toHaveLength(3);
    for (const [sql, params] of walks) {
      const plan = (await server.deps.db.query<Record<string, string>>(`EXPLAIN ${sql}`, params)).map((r) => Object.values(r)[0]).join('\n');
      expect(plan).toMatch(/Index Scan using files_live_children .*\n\s*Index Cond: \(parent_file_id = /);
    }
  });
});
