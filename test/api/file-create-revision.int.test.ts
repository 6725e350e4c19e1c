/**
 * file/create with a `file_id` (PDS CreateFile.file_id) uploads a new revision of that file, as
 * check_name_mode overwrite does onto the file holding the name. It was dropped by the body's schema and a
 * second doc.txt appeared beside the first (red team, repro-create-file-id-ignored.mjs). The file keeps
 * its place and name: a body that says otherwise is refused (400), as are a file_id not in the drive, a
 * folder, a trashed file and a file still uploading. Rapid upload too. On PGlite and PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { serverWithUser, type ApiClient } from '../support/test-server';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
] as const)('file/create with file_id on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  let dir: string;
  serverWithUser(dbKind, storeKind, 'reviser', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });
  beforeAll(async () => {
    dir = (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'revs', type: 'folder' }, token)).file_id;
  });

  const create = (body: Record<string, unknown>) => api.call('/v2/file/create', { drive_id: d, parent_file_id: dir, type: 'file', ...body }, token);
  async function upload(name: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
    const c = await create({ name, size: bytes.length, part_info_list: [{ part_number: 1 }], ...extra });
    expect([c.status, c.body.code]).toEqual([201, undefined]);
    const put = await fetch(c.body.part_info_list[0].upload_url, { method: 'PUT', body: bytes });
    expect(put.status).toBeLessThan(300);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: c.body.file_id, upload_id: c.body.upload_id }, token);
  }
  const names = async (parent: string) => (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: parent }, token)).items.map((i: { name: string }) => i.name);
  const revisions = async (fileId: string) => (await api.ok('/v2/file/revision/list', { drive_id: d, file_id: fileId }, token)).items;

  it('uploads a new revision of the file, which keeps its id, place and name; with or without parent_file_id', async () => {
    const v1 = await upload('doc.txt', Buffer.from('version 1'));
    const v2 = await upload('doc.txt', Buffer.from('version 2!'), { file_id: v1.file_id });
    expect([v2.file_id, v2.name, v2.parent_file_id, v2.size]).toEqual([v1.file_id, 'doc.txt', dir, 10]);
    expect(await names(dir)).toEqual(['doc.txt']);
    expect((await revisions(v1.file_id)).length).toBe(2);
    // parent_file_id left out: the file's folder, not the root.
    const c = await api.call('/v2/file/create', { drive_id: d, name: 'doc.txt', type: 'file', file_id: v1.file_id, size: 3, part_info_list: [{ part_number: 1 }] }, token);
    expect([c.status, c.body.file_id, c.body.parent_file_id]).toEqual([201, v1.file_id, dir]);
    // check_name_mode does not apply: the name is the file's own.
    const refuse = await create({ name: 'doc.txt', file_id: v1.file_id, check_name_mode: 'refuse', size: 3, part_info_list: [{ part_number: 1 }] });
    expect([refuse.status, refuse.body.file_id, refuse.body.exist, Boolean(refuse.body.upload_id)]).toEqual([201, v1.file_id, false, true]);
    expect(await names('root')).not.toContain('doc.txt');
  });

  it('rapid-uploads a new revision from content the caller already has', async () => {
    const content = Buffer.from('rapid revision content');
    await upload('source.bin', content, { content_hash: sha1(content), content_hash_name: 'sha1' });
    const target = await upload('target.bin', Buffer.from('old'));
    const r = await create({ name: 'target.bin', file_id: target.file_id, size: content.length, content_hash: sha1(content), content_hash_name: 'sha1' });
    expect([r.status, r.body.rapid_upload, r.body.file_id, r.body.size, r.body.content_hash]).toEqual([201, true, target.file_id, content.length, sha1(content)]);
    expect((await revisions(target.file_id)).length).toBe(2);
    expect((await names(dir)).filter((n: string) => n === 'target.bin')).toHaveLength(1);
  });

  it('refuses a file_id not in the drive, a folder, a trashed file, one still uploading, and a contradicting name or parent', async () => {
    const f = await upload('kept.txt', Buffer.from('kept'));
    const other = (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'elsewhere', type: 'folder' }, token)).file_id;
    const part = { size: 1, part_info_list: [{ part_number: 1 }] };
    const refusals: [string, Record<string, unknown>, number, string][] = [
      ['unknown id', { name: 'kept.txt', file_id: 'no-such-file', ...part }, 404, 'NotFound.File'],
      ['a folder', { name: 'elsewhere', parent_file_id: 'root', file_id: other, ...part }, 400, 'InvalidParameter.FileId'],
      ['type folder', { name: 'kept.txt', type: 'folder', file_id: f.file_id }, 400, 'InvalidParameter.FileId'],
      ['another name', { name: 'renamed.txt', file_id: f.file_id, ...part }, 400, 'InvalidParameter.Name'],
      ['another parent', { name: 'kept.txt', parent_file_id: other, file_id: f.file_id, ...part }, 400, 'InvalidParameter.ParentFileId'],
      ['the root as parent', { name: 'kept.txt', parent_file_id: 'root', file_id: f.file_id, ...part }, 400, 'InvalidParameter.ParentFileId'],
    ];
    for (const [label, body, status, code] of refusals) {
      const r = await create(body);
      expect([label, r.status, r.body.code]).toEqual([label, status, code]);
    }
    const pending = await create({ name: 'pending.txt', ...part });
    const onPending = await create({ name: 'pending.txt', file_id: pending.body.file_id, ...part });
    expect([onPending.status, onPending.body.code]).toEqual([403, 'Forbidden.FileStatus']);
    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: f.file_id }, token);
    const onTrashed = await create({ name: 'kept.txt', file_id: f.file_id, ...part });
    expect([onTrashed.status, onTrashed.body.code]).toEqual([404, 'NotFound.File']);
    expect(onTrashed.body.message).toMatch(/recycle bin/);
    // Nothing was created by the refusals.
    expect((await names(dir)).sort()).toEqual(['doc.txt', 'source.bin', 'target.bin']);
  });
});
