/**
 * OPENPDS_MAX_FOLDER_DEPTH (red team: no depth limit anywhere, and file/get_path of a 1,200-level chain took
 * 1.15 s). Folders nest at most that many levels, on create (folder, and file upload by both its paths),
 * move (the target's level plus the moved folder's own levels) and copy, with 400 LimitExceeded.FolderDepth
 * (a restore that would nest too deep comes back at the top of the drive instead); a tree nested deeper before
 * the limit still lists, paths, moves out and deletes. The walks up the tree look each parent up by its key,
 * and a restore reads its trashed folders by trash root: they are linear, where the joins they replace
 * scanned the drive once per level.
 */
import type { Queryable } from '../../api-server/src/db/db';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { folderLevel, subfoldersDeeperThan, trashedSubfoldersDeeperThan } from '../../api-server/src/modules/files/folder-depth.repository';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const MAX = 5;

describe.each(['pglite', 'pg'] as const)('folder depth limit on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let t: string;
  let d: string;
  const call = (path: string, body: Record<string, unknown>) => api.call(path, { drive_id: d, ...body }, t);
  const mkdir = async (parent: string, name: string): Promise<string> => (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder' }, t)).file_id;
  /** A chain of `levels` folders under parent, each in the one before; returns their ids, top first. */
  const chain = async (parent: string, levels: number, prefix: string): Promise<string[]> => {
    const ids = [parent];
    for (let i = 1; i <= levels; i++) ids.push(await mkdir(ids[i - 1]!, `${prefix}${i}`));
    return ids.slice(1);
  };
  /** As chain, written directly: a tree made before the limit (or with a higher one). */
  const legacyChain = async (parent: string, levels: number, prefix: string): Promise<string[]> => {
    const ids = Array.from({ length: levels }, (_, i) => `${prefix}-${i + 1}`);
    await server.deps.db.query(
      `INSERT INTO files (file_id, drive_id, parent_file_id, name, type)
       SELECT id, $1, CASE WHEN o = 1 THEN $2 ELSE $4 || '-' || (o - 1) END, id, 'folder' FROM unnest($3::text[]) WITH ORDINALITY AS u(id, o)`,
      [d, parent, ids, prefix],
    );
    return ids;
  };
  const expectTooDeep = (r: { status: number; body: Record<string, unknown> }) => {
    expect({ status: r.status, code: r.body.code, limit: r.body.limit }).toEqual({ status: 400, code: 'LimitExceeded.FolderDepth', limit: MAX });
    expect(r.body.message).toMatch(/more than 5 levels deep/);
  };
  const upload = (parent: string, name: string, parts: 1 | 2) =>
    call('/v2/file/create', { parent_file_id: parent, name, type: 'file', size: parts * 3, part_info_list: parts === 1 ? [{ part_number: 1 }] : [{ part_number: 1 }, { part_number: 2 }] });

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local', { OPENPDS_MAX_FOLDER_DEPTH: String(MAX) });
    api = server.api;
    const user = await createLoggedInUser(api, 'depthuser');
    t = user.access_token;
    d = user.default_drive_id;
  });
  afterAll(() => server?.stop());

  it(`creates folders ${MAX} levels deep and files in the last, and refuses a folder one level deeper`, async () => {
    const levels = await chain('root', MAX, 'c');
    const last = levels[MAX - 1]!;
    expectTooDeep(await call('/v2/file/create', { parent_file_id: last, name: 'too-deep', type: 'folder' }));
    for (const parts of [1, 2] as const) expect((await upload(last, `ok${parts}.txt`, parts)).status).toBe(201);
    // mkdir -p of a folder that exists is not a new level.
    expect((await call('/v2/file/create', { parent_file_id: levels[MAX - 2]!, name: `c${MAX}`, type: 'folder', check_name_mode: 'refuse' })).body.file_id).toBe(last);
  });

  it('takes files (they nest nothing) in a folder deeper than the limit (made before it) on both upload paths, and still lists, paths and deletes it, refusing a folder there', async () => {
    const top = await mkdir('root', 'legacy');
    const levels = await legacyChain(top, MAX + 2, 'legacy');
    const deepest = levels[levels.length - 1]!;
    for (const parts of [1, 2] as const) expect((await upload(deepest, `yes${parts}.txt`, parts)).status).toBe(201);
    expectTooDeep(await call('/v2/file/create', { parent_file_id: deepest, name: 'sub', type: 'folder' }));
    expect((await api.ok('/v2/file/list', { drive_id: d, parent_file_id: levels[MAX]! }, t)).items.map((f: { file_id: string }) => f.file_id)).toEqual([deepest]);
    expect((await api.ok('/v2/file/get_path', { drive_id: d, file_id: deepest }, t)).items.map((f: { file_id: string }) => f.file_id)).toEqual([top, ...levels]);
    await api.ok('/v2/file/delete', { drive_id: d, file_id: top }, t);
    expect(await server.deps.db.query(`SELECT 1 FROM files WHERE file_id LIKE 'legacy-%'`)).toHaveLength(0);
  });

  it('moves and copies a folder where its own levels still fit, refuses one level deeper, and lets a move out of a too-deep tree through', async () => {
    const target = await chain('root', MAX, 'target');
    const moved = await mkdir('root', 'moved');
    await mkdir(await mkdir(moved, 'inner'), 'innermost'); // three levels of its own
    // Into level 2: 2 + 3 = 5 levels. Into level 3: six.
    expectTooDeep(await call('/v2/file/move', { file_id: moved, to_parent_file_id: target[2]! }));
    expectTooDeep(await call('/v2/file/copy', { file_id: moved, to_parent_file_id: target[2]! }));
    await api.ok('/v2/file/copy', { drive_id: d, file_id: moved, to_parent_file_id: target[1]!, new_name: 'copied' }, t);
    await api.ok('/v2/file/move', { drive_id: d, file_id: moved, to_parent_file_id: target[1]! }, t);
    // A file goes in the last level, not under it.
    const file = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'f.txt', type: 'file', size: 3, part_info_list: [{ part_number: 1 }] }, t);
    await api.ok('/v2/file/move', { drive_id: d, file_id: file.file_id, to_parent_file_id: target[MAX - 1]! }, t);

    // A tree made deeper than the limit: its folders move up (not deeper than they were), never down.
    const legacy = await legacyChain('root', MAX + 3, 'old');
    expectTooDeep(await call('/v2/file/move', { file_id: await mkdir('root', 'shallow'), to_parent_file_id: legacy[MAX]! }));
    await api.ok('/v2/file/move', { drive_id: d, file_id: file.file_id, to_parent_file_id: legacy[MAX + 2]! }, t); // a file nests nothing
    expectTooDeep(await call('/v2/file/copy', { file_id: legacy[1]!, to_parent_file_id: 'root' }));
    await api.ok('/v2/file/move', { drive_id: d, file_id: legacy[MAX]!, to_parent_file_id: legacy[1]! }, t);
    await api.ok('/v2/file/move', { drive_id: d, file_id: legacy[MAX]!, to_parent_file_id: 'root' }, t);
    expect((await api.ok('/v2/file/get_path', { drive_id: d, file_id: legacy[MAX + 2]! }, t)).items).toHaveLength(3);
  });

  it('restores a folder under its old parent where its folders still fit, and at the top of the drive where the parent moved too deep while it was in the bin', async () => {
    const trash = (fileId: string) => api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: fileId }, t);
    const restore = async (fileId: string) => (await api.ok('/v2/recyclebin/restore', { drive_id: d, file_id: fileId }, t)) as { parent_file_id: string; name: string };
    const pathLength = async (fileId: string) => (await api.ok('/v2/file/get_path', { drive_id: d, file_id: fileId }, t)).items.length;
    const parent = await mkdir('root', 'restore-parent'); // level 1
    const tooDeep = await chain(parent, 3, 'restored'); // levels 2 to 4
    const fits = await chain(parent, 3, 'fits'); // levels 2 to 4, the third trashed on its own first
    const file = (await upload(parent, 'restored.txt', 1)).body.file_id as string;
    for (const id of [fits[2]!, tooDeep[0]!, fits[0]!, file]) await trash(id);
    // In the bin their folders do not count: the parent moves two levels down, to level 3.
    await api.ok('/v2/file/move', { drive_id: d, file_id: parent, to_parent_file_id: (await chain('root', 2, 'holder'))[1]! }, t);

    // Two levels trashed with it (the third is a trash root of its own): levels 4 and 5, the last allowed.
    expect(await restore(fits[0]!)).toMatchObject({ parent_file_id: parent, name: 'fits1' });
    expect(await pathLength(fits[1]!)).toBe(MAX);
    expect(await restore(file)).toMatchObject({ parent_file_id: parent, name: 'restored.txt' });
    // Levels 4 to 6 under it: at the top of the drive instead, whole, auto-renamed past a folder of its name there.
    await mkdir('root', 'restored1');
    expect(await restore(tooDeep[0]!)).toMatchObject({ parent_file_id: 'root', name: 'restored1(1)' });
    expect(await pathLength(tooDeep[2]!)).toBe(3);
    // Under fits2 (level 5) it would take level 6.
    expect(await restore(fits[2]!)).toMatchObject({ parent_file_id: 'root', name: 'fits3' });
    expectTooDeep(await call('/v2/file/move', { file_id: fits[2]!, to_parent_file_id: fits[1]! }));
  });

  it('reads the folders a restore brings back in one lookup by trash root, not a walk down that scans the table per level', async () => {
    const top = await mkdir('root', 'trashed-chain');
    const levels = await legacyChain(top, 1200, 'trashed');
    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: top }, t);
    expect(await trashedSubfoldersDeeperThan(server.deps.db, d, top, 1200)).toBe(false);
    expect(await trashedSubfoldersDeeperThan(server.deps.db, d, top, 1199)).toBe(true);
    expect(await trashedSubfoldersDeeperThan(server.deps.db, d, levels[0]!, 0)).toBe(false); // not a trash root: nothing is trashed with it
    const statements: [string, unknown[]][] = [];
    const recorder: Queryable = {
      query: async (sql, params) => {
        statements.push([sql, [...(params ?? [])]]);
        return [];
      },
      exec: async () => undefined,
    };
    await trashedSubfoldersDeeperThan(recorder, d, top, 1199);
    expect(statements).toHaveLength(1);
    const [sql, params] = statements[0]!;
    // That an index serves the query, not which plan the planner picks for this table today (with statistics
    // saying most of it is one trash, a Seq Scan can be cheaper): with Seq Scans priced out, it must use
    // files_trash_members (a missing index shows as a Seq Scan anyway, at any price).
    const plan = await server.deps.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL enable_seqscan = off`);
      return (await tx.query<Record<string, string>>(`EXPLAIN ${sql}`, params)).map((r) => Object.values(r)[0]).join('\n');
    });
    expect(plan).not.toMatch(/Seq Scan/);
    expect(plan).toMatch(/Index Scan (using|on) files_trash_members/); // or Bitmap Index Scan: one lookup either way
    // The chain restores whole (at the top, where it was); a tree deeper than the limit on its own is not refused.
    expect((await api.ok('/v2/recyclebin/restore', { drive_id: d, file_id: top }, t)).parent_file_id).toBe('root');
    expect(await folderLevel(server.deps.db, d, levels[1199]!)).toBe(1201);
    await api.ok('/v2/file/delete', { drive_id: d, file_id: top }, t);
  });

  it('counts levels up and subfolders down in walks that end on parents that loop', async () => {
    const a = await mkdir('root', 'loop-a');
    const b = await mkdir(a, 'loop-b');
    await server.deps.db.query(`UPDATE files SET parent_file_id = $2 WHERE file_id = $1`, [a, b]);
    expect(await folderLevel(server.deps.db, d, b)).toBeGreaterThan(MAX);
    expect(await subfoldersDeeperThan(server.deps.db, d, a, 1)).toBe(false);
    expect(await subfoldersDeeperThan(server.deps.db, d, a, 0)).toBe(true);
    // Nothing goes into a loop: its level is past any limit.
    expectTooDeep(await call('/v2/file/create', { parent_file_id: b, name: 'x', type: 'folder' }));
    await server.deps.db.query(`DELETE FROM files WHERE file_id = ANY($1::text[])`, [[a, b]]);
  });

  it('walks up the tree by primary key, one lookup per level, not a scan of the drive per level', async () => {
    const top = await mkdir('root', 'planned');
    const levels = await legacyChain(top, 1200, 'planned');
    const deepest = levels[levels.length - 1]!;
    // The walks' statements as they run (recorded, not run), then their plans on the real table. Without
    // statistics (PGlite never gathers any; PostgreSQL has none for rows just written) a plan that scans the
    // drive per level of the walk is O(depth × drive): get_path of 1,000 levels took over a second.
    const walks: [string, unknown[]][] = [];
    const recorder: Queryable = {
      query: async (sql, params) => {
        if (sql.includes('WITH RECURSIVE')) walks.push([sql, [...(params ?? [])]]);
        return [{ level: 0, found: false, deeper: false }] as never[];
      },
      exec: async () => undefined,
    };
    const repo = createFilesRepository();
    await repo.pathTo(recorder, d, deepest);
    await repo.isSelfOrAncestor(recorder, d, top, deepest);
    await folderLevel(recorder, d, deepest);
    expect(walks).toHaveLength(3);
    for (const [sql, params] of walks) {
      const plan = (await server.deps.db.query<Record<string, string>>(`EXPLAIN ${sql}`, params)).map((r) => Object.values(r)[0]).join('\n');
      expect(plan).not.toMatch(/Seq Scan/);
      expect(plan).toMatch(/Index (Only )?Scan using files_pkey .*\n\s*Index Cond: \(file_id = /);
    }
    expect(await folderLevel(server.deps.db, d, deepest)).toBe(1201);
    await api.ok('/v2/file/delete', { drive_id: d, file_id: top }, t);
  });
});
