/**
 * file/list takes the PDS ListFile filters `type` (file|folder), `category` (image|video|audio|doc|app|zip|
 * others) and `status` (uploading|available). They were dropped by the body's schema and every child was
 * listed (red team: a folder walker asking for folders got files). Filtered pages hold `limit` matching
 * items and their marker resumes after the last, for every order_by and direction. A folder has no
 * category: a category lists files only. On PGlite and PostgreSQL.
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

type Item = { file_id: string; name: string; type: string; category: string; status: string; size: number };

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
] as const)('file/list filters on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  let dir: string;
  serverWithUser(dbKind, storeKind, 'lister', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  const create = (body: Record<string, unknown>) => api.ok('/v2/file/create', { drive_id: d, parent_file_id: dir, ...body }, token);
  async function upload(name: string, bytes: string): Promise<void> {
    const c = await create({ name, type: 'file', size: bytes.length, part_info_list: [{ part_number: 1 }] });
    const put = await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body: bytes });
    expect(put.status).toBeLessThan(300);
    await api.ok('/v2/file/complete', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id }, token);
  }
  const list = (body: Record<string, unknown>) => api.call('/v2/file/list', { drive_id: d, parent_file_id: dir, ...body }, token);

  /** Every page of a listing, `limit` at a time, checking that each page but the last is full. */
  async function walk(body: Record<string, unknown>, limit: number): Promise<Item[]> {
    const out: Item[] = [];
    let marker = '';
    for (let pages = 0; pages < 50; pages++) {
      const r = await list({ ...body, limit, marker });
      expect(r.status).toBe(200);
      out.push(...r.body.items);
      if (!r.body.next_marker) return out;
      expect(r.body.items).toHaveLength(limit);
      marker = r.body.next_marker;
    }
    throw new Error('no last page');
  }

  beforeAll(async () => {
    dir = (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'filters', type: 'folder' }, token)).file_id;
    for (const name of ['sub-a', 'sub-b', 'sub-c']) await create({ name, type: 'folder' });
    const files: [string, string][] = [['a.jpg', 'aa'], ['b.jpg', 'b'], ['c.png', 'cccc'], ['d.mp4', 'ddd'], ['e.txt', 'eeeee'], ['f.zip', 'ff'], ['g.bin', 'g'], ['h.jpg', 'hhh']];
    for (const [name, bytes] of files) await upload(name, bytes);
    // Left uploading: listed under status uploading only.
    await create({ name: 'pending.jpg', type: 'file', size: 3, part_info_list: [{ part_number: 1 }] });
  });

  it('lists only what each filter asks for, in every order, a page of `limit` at a time', async () => {
    const everything: Item[] = await walk({}, 100);
    expect(everything.map((i) => i.name).sort()).toEqual(['a.jpg', 'b.jpg', 'c.png', 'd.mp4', 'e.txt', 'f.zip', 'g.bin', 'h.jpg', 'sub-a', 'sub-b', 'sub-c']);
    const cases: [Record<string, unknown>, (i: Item) => boolean][] = [
      [{ type: 'folder' }, (i) => i.type === 'folder'],
      [{ type: 'file' }, (i) => i.type === 'file'],
      [{ category: 'image' }, (i) => i.category === 'image'],
      [{ category: 'image', type: 'file' }, (i) => i.category === 'image'],
      [{ category: 'others' }, (i) => i.category === 'others'],
      [{ category: 'audio' }, () => false],
      [{ status: 'available', type: 'folder' }, (i) => i.type === 'folder'],
    ];
    for (const order_by of ['name', 'updated_at', 'created_at', 'size']) {
      for (const order_direction of ['ASC', 'DESC']) {
        const all = await walk({ order_by, order_direction }, 100);
        for (const [filter, keep] of cases) {
          const paged = await walk({ ...filter, order_by, order_direction }, 2);
          // The unfiltered order, less what the filter drops: same items, same order, no repeats.
          expect([order_by, order_direction, filter, paged.map((i) => i.name)]).toEqual([order_by, order_direction, filter, all.filter(keep).map((i) => i.name)]);
        }
      }
    }
    // The folder walker of the red team: folders only.
    expect((await list({ type: 'folder' })).body.items.map((i: Item) => `${i.name}:${i.type}:${i.category}`)).toEqual(['sub-a:folder:', 'sub-b:folder:', 'sub-c:folder:']);
  });

  it('lists files still uploading under status uploading, and only there', async () => {
    const uploading = await walk({ status: 'uploading' }, 1);
    expect(uploading.map((i) => `${i.name}:${i.status}`)).toEqual(['pending.jpg:uploading']);
    expect((await walk({ status: 'uploading', category: 'image' }, 1)).map((i) => i.name)).toEqual(['pending.jpg']);
    expect(await walk({ status: 'uploading', type: 'folder' }, 1)).toEqual([]);
    expect((await walk({}, 100)).map((i) => i.name)).not.toContain('pending.jpg');
  });

  it('refuses a category with type folder, unknown values, and a marker from another filter', async () => {
    const both = await list({ type: 'folder', category: 'image' });
    expect([both.status, both.body.code]).toEqual([400, 'InvalidParameter.Category']);
    for (const [field, value] of [['type', 'dir'], ['category', 'photo'], ['status', 'trashed']] as const) {
      const r = await list({ [field]: value });
      expect([field, r.status, r.body.code]).toEqual([field, 400, `InvalidParameter.${field.charAt(0).toUpperCase()}${field.slice(1)}`]);
    }
    const unfiltered = await list({ limit: 1 });
    const r = await list({ limit: 1, type: 'file', marker: unfiltered.body.next_marker });
    expect([r.status, r.body.code]).toEqual([400, 'InvalidParameter.Marker']);
    // An unfiltered listing's marker still resumes it (its scope did not change).
    expect((await list({ limit: 1, marker: unfiltered.body.next_marker })).status).toBe(200);
  });
});
