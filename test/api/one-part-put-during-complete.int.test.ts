/**
 * A one-part upload URL on local disk PUT again while file/complete runs (red team, uploads): the PUT was
 * let in while the upload was open, complete answered 200 for the object as it was, then the PUT's bytes
 * replaced that object, and the completed file answered 409 ContentReplaced for good (its bytes gone).
 * The PUT is checked again once its body is in, before it replaces anything: it is refused with 409
 * UploadCompleted, and the completed file keeps what it was completed with. That check and the rename
 * hold the upload session's row locked (uploads whileObjectUploadOpen), so a complete between the two
 * waits for the rename and completes the bytes it put.
 */
import { Readable } from 'node:stream';
import { untilALockWaits } from '../support/accounting';
import { serverWithUser, type ApiClient, type TestServer } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('a one-part PUT that ends after file/complete, on %s + local', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'putter', (ready) => {
    [server, api] = [ready.server, ready.api];
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  /** A PUT whose body arrives in `chunks` pieces `gapMs` apart; resolves once it is answered. */
  const slowPut = (url: string, chunks: Buffer[], gapMs: number) => {
    let i = 0;
    const body = new Readable({
      read() {
        if (i >= chunks.length) return void this.push(null);
        const chunk = chunks[i++]!;
        setTimeout(() => this.push(chunk), gapMs);
      },
    });
    // Node's fetch takes a stream body with duplex 'half' (not in the DOM types).
    const init = { method: 'PUT', body, duplex: 'half' } as unknown as RequestInit;
    return fetch(url, init).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as { code?: string } | undefined }));
  };

  it('is refused with 409 UploadCompleted, and the completed file keeps its bytes', async () => {
    const original = Buffer.alloc(1000, 1);
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'raced.bin', type: 'file' }, t);
    const url = created.part_info_list[0].upload_url;
    expect((await fetch(url, { method: 'PUT', body: original })).status).toBe(200);

    const replacing = slowPut(url, Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024, 7)), 60);
    await new Promise((r) => setTimeout(r, 150)); // the PUT is in, its body still arriving
    const completed = await api.call('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
    expect([completed.status, completed.body.size]).toEqual([200, 1000]);
    const put = await replacing;
    expect([put.status, put.body?.code]).toEqual([409, 'UploadCompleted']);

    const link = await api.call('/v2/file/get_download_url', { drive_id: d, file_id: created.file_id }, t);
    expect(link.status).toBe(200);
    const served = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    expect(served.equals(original)).toBe(true);
  });

  it('a complete between the last check and the rename waits for the rename, and completes the bytes put', async () => {
    const first = Buffer.alloc(1000, 1);
    const second = Buffer.alloc(1500, 2);
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'between.bin', type: 'file' }, t);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: first })).status).toBe(200);
    const [session] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM upload_sessions WHERE upload_id = $1`, [created.upload_id]);
    const key = session!.storage_key;

    // What the PUT route does once the second body is durable: the check, then the rename, here with a
    // file/complete arriving between them. Before, the complete claimed the upload there and completed
    // the first bytes, which the rename then replaced (ContentReplaced for good).
    let completing: Promise<{ status: number; body: { size?: number } }> | undefined;
    const replaced = await server.services.uploads.whileObjectUploadOpen(key, async () => {
      completing = api.call('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
      await untilALockWaits(server.deps.db, dbKind, 'file/complete');
      await server.deps.store.put(key, Readable.from([second]), { size: second.length });
    });
    expect(replaced).toBe(true);
    const completed = await completing!;
    expect([completed.status, completed.body.size]).toEqual([200, 1500]);
    const link = await api.call('/v2/file/get_download_url', { drive_id: d, file_id: created.file_id }, t);
    const served = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    expect(served.equals(second)).toBe(true);
    // And once completed, the guard refuses: a PUT that gets this far now is dropped.
    expect(await server.services.uploads.whileObjectUploadOpen(key, async () => undefined)).toBe(false);
  });
});
