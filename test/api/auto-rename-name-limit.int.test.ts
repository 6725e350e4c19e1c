/**
 * auto_rename never gives a name longer than 1024 bytes (red team: a 1024-byte name created twice with
 * auto_rename became a 1027-byte `…(1).txt`, as did file/copy, file/move, recyclebin/restore and the
 * name chosen at file/complete). The base is cut at a character boundary, the extension kept: the same
 * names from files/names.ts numberedName (create, copy, move, restore) and from complete_claim_name in
 * SQL (migration 018). On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { numberedName } from '../../api-server/src/modules/files/names';
import { serverWithUser, type ApiClient } from '../support/test-server';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

// 1024 bytes each, the cut falling inside a multi-byte character for (1) and (2).
const NAMES = { ascii: 'a'.repeat(1020) + '.txt', two: 'é'.repeat(510) + '.txt', three: 'ab' + '照'.repeat(339) + 'é.md', four: '😀'.repeat(255) + '.jpg' };

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('auto_rename within 1024 bytes on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, storeKind, 'longnames', (ready) => {
    api = ready.api;
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  const folder = async (name: string) => (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'folder' }, t)).file_id as string;
  const create = (parent: string, name: string, mode = 'auto_rename') =>
    api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'file', size: 2, check_name_mode: mode }, t);
  async function upload(parent: string, name: string, mode = 'auto_rename') {
    const created = await create(parent, name, mode);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'hi', headers: { 'content-length': '2' } })).status).toBe(200);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
  }
  const names = async (parent: string) => (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: parent, limit: 100 }, t)).items.map((i: { name: string }) => i.name).sort();
  const fits = (name: string) => expect(bytes(name)).toBeLessThanOrEqual(1024);

  it.each(Object.entries(NAMES))('numbers a 1024-byte name (%s) at create, copy, move, restore and complete', async (label, name) => {
    expect(bytes(name)).toBe(1024);
    const here = await folder(`here-${label}`);
    const there = await folder(`there-${label}`);
    const first = await upload(here, name);
    expect(first.name).toBe(name);

    // file/create: the name taken, chosen at create.
    const second = await upload(here, name);
    expect(second.name).toBe(numberedName(name, 1));
    // file/copy (auto_rename by default) into the same folder.
    const copied = await api.ok('/v2/file/copy', { drive_id: d, file_id: first.file_id, to_parent_file_id: here }, t);
    expect(copied.name).toBe(numberedName(name, 2));
    // file/move auto_rename of a file of that name from another folder.
    const elsewhere = await upload(there, name);
    const moved = await api.ok('/v2/file/move', { drive_id: d, file_id: elsewhere.file_id, to_parent_file_id: here, check_name_mode: 'auto_rename' }, t);
    expect(moved.name).toBe(numberedName(name, 3));
    // recyclebin/restore into a name taken since it was trashed.
    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: first.file_id }, t);
    const taker = await upload(here, name, 'refuse');
    expect(taker.name).toBe(name);
    const restored = await api.ok('/v2/recyclebin/restore', { drive_id: d, file_id: first.file_id }, t);
    expect(restored.name).toBe(numberedName(name, 4));
    // file/complete (SQL): two uploads of the name opened while it was free, completed one after the other.
    const free = await folder(`complete-${label}`);
    const [a, b] = [await create(free, name), await create(free, name)];
    for (const c of [a, b]) expect((await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body: 'hi', headers: { 'content-length': '2' } })).status).toBe(200);
    const doneA = await api.ok('/v2/file/complete', { drive_id: d, file_id: a.file_id, upload_id: a.upload_id }, t);
    const doneB = await api.ok('/v2/file/complete', { drive_id: d, file_id: b.file_id, upload_id: b.upload_id }, t);
    expect([doneA.name, doneB.name]).toEqual([name, numberedName(name, 1)]);

    for (const n of [...(await names(here)), ...(await names(free))]) fits(n);
    expect(await names(here)).toEqual([name, ...[1, 2, 3, 4].map((n) => numberedName(name, n))].sort());
  });

  it('numbers past the first cut (n of two digits cuts one more byte)', async () => {
    const here = await folder('many');
    const name = NAMES.two;
    const done: string[] = [];
    for (let i = 0; i < 11; i++) done.push((await upload(here, name)).name);
    expect(done).toEqual([name, ...Array.from({ length: 10 }, (_, i) => numberedName(name, i + 1))]);
    for (const n of done) fits(n);
    expect(numberedName(name, 10)).toBe('é'.repeat(508) + '(10).txt');
  });
});
