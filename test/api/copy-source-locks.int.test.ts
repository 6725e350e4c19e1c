/**
 * A folder copy locks the files it copies before it inserts their copies (files.repository copyRows): it
 * inserts the files, then their revisions, in two statements, and a file deleted between the two (a plain
 * file delete takes no tree lock) left a copy with no revision, a file nothing could read. Now the delete
 * waits for the copy's commit, and every copy has its revision. PostgreSQL only: PGlite runs one
 * transaction at a time, so nothing can come between the two statements there.
 */
import { randomBytes } from 'node:crypto';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { createLoggedInUser, startTestServer } from '../support/test-server';

describe('folder copy and a concurrent file delete on pg', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('pg', 'local');
  });
  afterAll(() => server?.stop());

  it('makes the delete of a source file wait for the copy, and leaves no copy without its revision', async () => {
    const { api } = server;
    const u = await createLoggedInUser(api, 'copier');
    const ref = { drive_id: u.default_drive_id };
    const folder = await api.ok('/v2/file/create', { ...ref, parent_file_id: 'root', name: 'album', type: 'folder' }, u.access_token);
    const files: string[] = [];
    for (const name of ['a.jpg', 'b.jpg']) {
      const created = await api.ok('/v2/file/create', { ...ref, parent_file_id: folder.file_id, name, type: 'file', size: 100 }, u.access_token);
      await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: randomBytes(100) });
      files.push((await api.ok('/v2/file/complete', { ...ref, file_id: created.file_id, upload_id: created.upload_id }, u.access_token)).file_id);
    }
    const target = await api.ok('/v2/file/create', { ...ref, parent_file_id: 'root', name: 'copy', type: 'folder' }, u.access_token);

    // The copy, paused between its two inserts (files, then revisions), where a long copy spends its time.
    const repo = createFilesRepository();
    let release!: () => void;
    let paused!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const atPause = new Promise<void>((r) => (paused = r));
    const copy = server.deps.db.transaction(async (tx) => {
      const pausing = {
        ...tx,
        async query(sql: string, params?: readonly unknown[]) {
          const rows = await tx.query(sql, params);
          if (sql.trimStart().startsWith('INSERT INTO files')) {
            paused();
            await held;
          }
          return rows;
        },
      } as typeof tx;
      await repo.copyRows(pausing, {
        srcDriveId: ref.drive_id,
        dstDriveId: ref.drive_id,
        createdBy: u.user_id,
        rows: files.map((oldId, i) => ({ oldId, newId: `copy-${i}-${oldId}`, newParent: target.file_id, newName: `${i}.jpg`, newRevisionId: `rev-copy-${i}-${oldId}` })),
      });
    });
    await atPause;
    let deleted = false;
    const del = api.call('/v2/file/delete', { ...ref, file_id: files[0] }, u.access_token).then((r) => {
      deleted = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(deleted).toBe(false); // waits on the copy's lock on its source
    release();
    await copy;
    expect((await del).status).toBe(204);

    const orphans = await server.deps.db.query(
      `SELECT f.file_id FROM files f LEFT JOIN file_revisions r ON r.revision_id = f.revision_id WHERE f.type = 'file' AND f.status = 'available' AND r.revision_id IS NULL`,
    );
    expect(orphans).toEqual([]);
    const listed = await api.ok('/v2/file/list', { ...ref, parent_file_id: target.file_id }, u.access_token);
    expect(listed.items.map((f: { name: string }) => f.name).sort()).toEqual(['0.jpg', '1.jpg']);
  });
});
