/**
 * What a PDS client does, against the real CLI (`openpds serve` in a child process) on PostgreSQL and
 * radosgw S3: log in, create a user, upload 50 MiB in parallel parts straight to the store, download it
 * whole and by ranges, rapid-upload it as another user, trash/restore, hit the quota, overwrite and
 * restore a revision. The steps share one server and build on each other, like a client session.
 */
import { rmSync } from 'node:fs';
import { createApiClient, testServerEnv, ADMIN_PASSWORD, type ApiClient } from '../support/test-server';
import { killAllChildServers, startChildServer, withServerOutput, type ChildServer } from './support/child-server';
import { MiB, downloadSha1, mapLimit, randomContent, type Content } from './support/content';

jest.setTimeout(60_000);

type Session = { access_token: string; user_id: string; default_drive_id: string };

const PART_SIZE = 5 * MiB; // S3's minimum for every part but the last
const big = randomContent(50 * MiB);

let server: ChildServer;
let dataDir: string | undefined;
let api: ApiClient;
let admin: Session;
let bob: Session;
let bigFileId: string;

/** create → PUT every part to its URL, 4 at a time → complete; each part is generated only when sent. */
async function uploadFile(user: Session, name: string, content: Content, extra: Record<string, unknown> = {}) {
  const partCount = Math.max(Math.ceil(content.size / PART_SIZE), 1);
  const created = await api.ok('/v2/file/create', {
    drive_id: user.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.size, check_name_mode: 'auto_rename',
    part_info_list: Array.from({ length: partCount }, (_, i) => ({ part_number: i + 1 })),
    ...extra,
  }, user.access_token);
  expect(created.rapid_upload).toBe(false);
  await mapLimit(created.part_info_list as { part_number: number; upload_url: string }[], 4, async (p) => {
    const body = content.slice((p.part_number - 1) * PART_SIZE, p.part_number * PART_SIZE);
    const res = await fetch(p.upload_url, { method: 'PUT', body });
    if (!res.ok) throw new Error(`part ${p.part_number}: ${res.status} ${await res.text()}`);
  });
  const completed = await api.ok('/v2/file/complete', { drive_id: user.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
  if (completed.content_hash || extra.content_hash) return completed;
  // Without a declared content_hash the server hashes in the background: wait for it, as a sync client would.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const file = await api.ok('/v2/file/get', { drive_id: user.default_drive_id, file_id: created.file_id }, user.access_token);
    if (file.content_hash) return file;
    if (Date.now() > deadline) throw new Error(`${name}: content_hash still empty 20 s after complete`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function downloadUrl(user: Session, fileId: string): Promise<string> {
  return (await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token)).url;
}

const usedSize = async (user: Session) => (await api.ok('/v2/drive/get', { drive_id: user.default_drive_id }, user.access_token)).used_size as number;
const rootNames = async (user: Session) =>
  ((await api.ok('/v2/file/list', { drive_id: user.default_drive_id, parent_file_id: 'root', limit: 100 }, user.access_token)).items as { name: string }[]).map((f) => f.name).sort();

beforeAll(async () => {
  let env: Record<string, string>;
  ({ env, dataDir } = await testServerEnv('pg', 's3', { OPENPDS_LOG_LEVEL: 'warn' }));
  server = await startChildServer(env);
  api = createApiClient(server.url);
});
afterAll(async () => {
  await killAllChildServers();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// Failures carry the server's own log lines.
const step = (name: string, fn: () => Promise<void>, timeout?: number) => it(name, () => withServerOutput(server, fn), timeout);

step('logs in as the admin and creates a second user through the admin API', async () => {
  admin = await api.login('admin', ADMIN_PASSWORD);
  const created = await api.ok('/v2/user/create', { user_name: 'bob', password: 'bob-password-1' }, admin.access_token);
  expect(created.default_drive_id).toBeTruthy();
  bob = await api.login('bob', 'bob-password-1');
  expect(bob).toMatchObject({ user_id: created.user_id, default_drive_id: created.default_drive_id });
  // bob is a plain user: admin calls are refused.
  expect((await api.call('/v2/user/create', { user_name: 'eve' }, bob.access_token)).status).toBe(403);
});

step('uploads 50 MiB in 10 parallel parts and downloads the same bytes', async () => {
  const file = await uploadFile(admin, 'big.bin', big);
  bigFileId = file.file_id;
  expect(file).toMatchObject({ status: 'available', size: big.size, content_hash: big.sha1(), content_hash_name: 'sha1' });
  expect(await usedSize(admin)).toBe(big.size);
  const whole = await downloadSha1(await downloadUrl(admin, bigFileId));
  expect(whole).toEqual({ status: 200, sha1: big.sha1(), size: big.size });
});

step('serves byte ranges with 206: across a part boundary, an open end, a suffix', async () => {
  const url = await downloadUrl(admin, bigFileId);
  const ranges: [string, number, number][] = [
    [`bytes=${PART_SIZE - 10}-${PART_SIZE + 9}`, PART_SIZE - 10, PART_SIZE + 10],
    [`bytes=${big.size - 1000}-`, big.size - 1000, big.size],
    ['bytes=-4096', big.size - 4096, big.size],
    ['bytes=0-0', 0, 1],
  ];
  for (const [header, start, end] of ranges) {
    const res = await fetch(url, { headers: { range: header } });
    expect([header, res.status]).toEqual([header, 206]);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${big.size}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(big.slice(start, end))).toBe(true);
  }
});

step("rapid-uploads only content bob can read: a proof v1 for the admin's 50 MiB is a normal upload, his own copy is linked", async () => {
  const base = { drive_id: bob.default_drive_id, parent_file_id: 'root', type: 'file', size: big.size, content_hash: big.sha1(), content_hash_name: 'sha1', proof_version: 'v1' };
  // The proof is 8 bytes at an offset derived from bob's own token: the hash alone is not enough.
  const wrongCode = Buffer.from(big.proofCode(bob.access_token), 'base64').map((b) => b ^ 0xff);
  const wrong = await api.ok('/v2/file/create', { ...base, name: 'wrong.bin', proof_code: Buffer.from(wrongCode).toString('base64') }, bob.access_token);
  expect(wrong).toMatchObject({ rapid_upload: false, status: 'uploading' });
  expect(wrong.upload_id).toBeTruthy();
  // The admin's proof is for the admin's token, not bob's.
  const borrowed = await api.ok('/v2/file/create', { ...base, name: 'borrowed.bin', proof_code: big.proofCode(admin.access_token) }, bob.access_token);
  expect(borrowed.rapid_upload).toBe(false);
  // Nor is a right proof v1 enough for content only in another user's drive (red team: its offset can be
  // walked across a file known in part): bob uploads the bytes, and the store keeps one copy.
  const uploaded = await uploadFile(bob, 'copy.bin', big, { ...base, proof_code: big.proofCode(bob.access_token) });
  expect(uploaded).toMatchObject({ status: 'available', size: big.size, content_hash: big.sha1() });

  // Content bob holds is linked: no bytes are sent.
  const metricsBefore = await uploadBytesTotal();
  const right = await api.ok('/v2/file/create', { ...base, name: 'copy2.bin', proof_code: big.proofCode(bob.access_token) }, bob.access_token);
  expect(right).toMatchObject({ rapid_upload: true, status: 'available', size: big.size, content_hash: big.sha1() });
  expect(right.part_info_list).toEqual([]);
  expect(await uploadBytesTotal()).toBe(metricsBefore);
  expect(await downloadSha1(await downloadUrl(bob, right.file_id))).toEqual({ status: 200, sha1: big.sha1(), size: big.size });
  expect(await usedSize(bob)).toBe(2 * big.size);
  // The unfinished sessions of the refused proofs are invisible.
  expect(await rootNames(bob)).toEqual(['copy.bin', 'copy2.bin']);
});

step('trashes a file and restores it with its bytes', async () => {
  await api.ok('/v2/recyclebin/trash', { drive_id: admin.default_drive_id, file_id: bigFileId }, admin.access_token);
  expect((await api.call('/v2/file/get', { drive_id: admin.default_drive_id, file_id: bigFileId }, admin.access_token)).status).toBe(404);
  expect(await rootNames(admin)).toEqual([]);
  const bin = await api.ok('/v2/recyclebin/list', { drive_id: admin.default_drive_id }, admin.access_token);
  expect(bin.items.map((f: { file_id: string }) => f.file_id)).toEqual([bigFileId]);
  expect((await api.call('/v2/file/get_download_url', { drive_id: admin.default_drive_id, file_id: bigFileId }, admin.access_token)).status).toBe(404);

  await api.ok('/v2/recyclebin/restore', { drive_id: admin.default_drive_id, file_id: bigFileId }, admin.access_token);
  expect(await rootNames(admin)).toEqual(['big.bin']);
  expect((await downloadSha1(await downloadUrl(admin, bigFileId))).sha1).toBe(big.sha1());
});

step('refuses an upload over the quota: QuotaExhausted.Drive, nothing created, used_size unchanged', async () => {
  const used = await usedSize(bob);
  // The unfinished uploads of the refused proofs above reserve their declared size until they go.
  const { reserved_size: reserved } = await api.ok('/v2/drive/get', { drive_id: bob.default_drive_id }, bob.access_token);
  expect(reserved).toBe(2 * big.size);
  await api.ok('/v2/drive/update', { drive_id: bob.default_drive_id, total_size: used + reserved + MiB }, admin.access_token);
  const names = await rootNames(bob);
  const small = randomContent(2 * MiB);
  const refused = await api.call('/v2/file/create', { drive_id: bob.default_drive_id, parent_file_id: 'root', name: 'too-big.bin', type: 'file', size: small.size }, bob.access_token);
  expect(refused).toMatchObject({ status: 403, body: { code: 'QuotaExhausted.Drive' } });
  // Rapid upload moves no bytes but still counts against the quota.
  const rapid = await api.call('/v2/file/create', {
    drive_id: bob.default_drive_id, parent_file_id: 'root', name: 'again.bin', type: 'file', size: big.size,
    content_hash: big.sha1(), content_hash_name: 'sha1', proof_version: 'v1', proof_code: big.proofCode(bob.access_token),
  }, bob.access_token);
  expect(rapid).toMatchObject({ status: 403, body: { code: 'QuotaExhausted.Drive' } });
  expect(await rootNames(bob)).toEqual(names);
  expect(await usedSize(bob)).toBe(used);
  // What still fits is accepted.
  const fits = await uploadFile(bob, 'fits.bin', randomContent(MiB / 2));
  expect(fits.status).toBe('available');
  expect(await usedSize(bob)).toBe(used + MiB / 2);
});

step('overwrites a file and restores the older revision', async () => {
  const v1 = randomContent(3 * MiB);
  const v2 = randomContent(2 * MiB + 17);
  const first = await uploadFile(admin, 'doc.bin', v1);
  const second = await uploadFile(admin, 'doc.bin', v2, { check_name_mode: 'overwrite' });
  expect(second.file_id).toBe(first.file_id);
  expect((await downloadSha1(await downloadUrl(admin, first.file_id))).sha1).toBe(v2.sha1());
  expect((await rootNames(admin)).filter((n) => n.startsWith('doc'))).toEqual(['doc.bin']);

  const revisions = await api.ok('/v2/file/revision/list', { drive_id: admin.default_drive_id, file_id: first.file_id }, admin.access_token);
  expect(revisions.items.map((r: { revision_id: string }) => r.revision_id)).toEqual([second.revision_id, first.revision_id]);
  const restored = await api.ok('/v2/file/revision/restore', { drive_id: admin.default_drive_id, file_id: first.file_id, revision_id: first.revision_id }, admin.access_token);
  expect(restored).toMatchObject({ size: v1.size, content_hash: v1.sha1() });
  expect(await downloadSha1(await downloadUrl(admin, first.file_id))).toEqual({ status: 200, sha1: v1.sha1(), size: v1.size });
});

async function uploadBytesTotal(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^openpds_upload_bytes_total (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}
