/**
 * Red-team finding: whoever knew a file's SHA-1, size and part of its bytes got the whole file through
 * rapid upload. Proof v1 is 8 bytes at md5(access_token) mod size, and access tokens were a pure function
 * of user and second, so refreshing gave a new offset each second until one fell in the known bytes. Here:
 * tokens are never equal, and proof v1 alone no longer links content the caller cannot read.
 * On PGlite + local disk and PostgreSQL + local disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { computeProofCode } from '../../api-server/src/modules/uploads/proof';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

const iatOf = (token: string): number => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).iat;

describe.each(['pglite', 'pg'] as const)('rapid-upload proof on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
  });
  afterAll(() => server?.stop());

  type Session = Awaited<ReturnType<typeof createLoggedInUser>>;
  const createWithHash = (u: Session, name: string, content: Buffer, extra: Record<string, unknown> = {}) =>
    api.ok('/v2/file/create', {
      drive_id: u.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.length,
      content_hash: sha1(content), content_hash_name: 'sha1', ...extra,
    }, u.access_token);
  async function putAndComplete(u: Session, created: { file_id: string; upload_id: string; part_info_list: { upload_url: string }[] }, content: Buffer) {
    const res = await fetch(created.part_info_list[0]!.upload_url, { method: 'PUT', body: content });
    expect(res.status).toBeLessThan(300);
    return api.ok('/v2/file/complete', { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, u.access_token);
  }

  it('issues a different access token on every refresh, even within one second, and each one works', async () => {
    let session = await createLoggedInUser(api, `jti-${dbKind}`);
    const seen = new Map<number, string[]>();
    // Refresh until two tokens share a second (they used to be byte-for-byte equal then).
    for (let i = 0; i < 40 && ![...seen.values()].some((list) => list.length >= 2); i++) {
      session = await api.ok('/v2/account/token', { refresh_token: session.refresh_token });
      const list = seen.get(iatOf(session.access_token)) ?? [];
      list.push(session.access_token);
      seen.set(iatOf(session.access_token), list);
    }
    const sameSecond = [...seen.values()].find((list) => list.length >= 2)!;
    expect(sameSecond).toBeDefined();
    expect(new Set(sameSecond).size).toBe(sameSecond.length);
    for (const token of sameSecond) expect((await api.call('/v2/drive/list_my_drives', {}, token)).status).toBe(200);
  });

  it("answers proof v1 for content only in another user's drive as a normal upload; the bytes are still stored once", async () => {
    const owner = await createLoggedInUser(api, `proof-owner-${dbKind}`);
    const content = randomBytes(300_000);
    await putAndComplete(owner, await createWithHash(owner, 'secret.bin', content), content);

    // The attacker holds the right proof v1 for each of their tokens: it no longer links the victim's bytes.
    const attacker = await createLoggedInUser(api, `proof-attacker-${dbKind}`);
    let session: { access_token: string; refresh_token: string } = attacker;
    for (let i = 0; i < 3; i++) {
      if (i > 0) session = await api.ok('/v2/account/token', { refresh_token: session.refresh_token });
      const token = session.access_token;
      const tried = await api.ok('/v2/file/create', {
        drive_id: attacker.default_drive_id, parent_file_id: 'root', name: `try-${i}.bin`, type: 'file', size: content.length,
        content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v1', proof_code: computeProofCode(token, content),
      }, token);
      expect(tried).toMatchObject({ rapid_upload: false, status: 'uploading' });
      expect(tried.upload_id).toBeTruthy();
      expect(tried.part_info_list).toHaveLength(1);
    }
    expect((await api.ok('/v2/drive/get', { drive_id: attacker.default_drive_id }, attacker.access_token)).used_size).toBe(0);

    // A client that really has the bytes just uploads them; the store keeps one copy.
    const honest = await createLoggedInUser(api, `proof-honest-${dbKind}`);
    const created = await createWithHash(honest, 'mine.bin', content, { proof_version: 'v1', proof_code: computeProofCode(honest.access_token, content) });
    expect(created.rapid_upload).toBe(false);
    expect(await putAndComplete(honest, created, content)).toMatchObject({ status: 'available', content_hash: sha1(content), size: content.length });
    await server.services.jobs.drain();
    expect(await server.deps.db.query(`SELECT ref_count FROM blobs WHERE sha1 = $1`, [sha1(content)])).toEqual([{ ref_count: 2 }]);

    // Whoever can read a copy still rapid-uploads it, with or without a proof v1 (a wrong one is refused as before).
    const again = await createWithHash(honest, 'again.bin', content, { proof_version: 'v1', proof_code: computeProofCode(honest.access_token, content) });
    expect(again).toMatchObject({ rapid_upload: true, status: 'available', size: content.length });
    expect((await createWithHash(owner, 'copy.bin', content)).rapid_upload).toBe(true);
    const wrong = await createWithHash(owner, 'wrong.bin', content, { proof_version: 'v1', proof_code: Buffer.from('12345678').toString('base64') });
    expect(wrong.rapid_upload).toBe(false);
  });
});
