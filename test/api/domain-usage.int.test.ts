/**
 * /v2/domain/get's usage, what the operator shows in `kubectl get domain`: users, drives, bytes used, the
 * sum of the quotas there are and the drives without one. On PGlite and on PostgreSQL (local disk for
 * both: the store plays no part in these figures).
 */
import type { Queryable } from '../../api-server/src/db/db';
import { createDomainRepository } from '../../api-server/src/modules/domain/domain.repository';
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

const MiB = 1024 * 1024;

/** A new file through create → PUT → complete, then its background jobs. */
async function upload(server: Awaited<ReturnType<typeof startTestServer>>, token: string, driveId: string, name: string, content: Buffer) {
  const created = await server.api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: 'root', name, type: 'file', size: content.length, part_info_list: [{ part_number: 1 }] }, token);
  const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content });
  if (!put.ok) throw new Error(`PUT answered ${put.status}`);
  await server.api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, token);
  await server.services.jobs.drain();
}

describe.each(['pglite', 'pg'] as const)('domain usage on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['login']>>;

  beforeAll(async () => {
    // Default drives get a 1 MiB quota, so every figure below is known.
    server = await startTestServer(dbKind, 'local', { OPENPDS_DEFAULT_DRIVE_SIZE: String(MiB) });
    api = server.api;
    admin = await api.login('admin', ADMIN_PASSWORD);
  });
  afterAll(() => server?.stop());

  it('counts users and drives, sums used bytes and quotas, and counts unlimited drives apart', async () => {
    expect(await api.ok('/v2/domain/get', {}, admin.access_token)).toMatchObject({ user_count: 1, drive_count: 1, used_size: 0, total_size: MiB, unlimited_drive_count: 0 });

    const bob = await api.ok('/v2/user/create', { user_name: 'bob', password: 'bob-password' }, admin.access_token);
    const limited = await api.ok('/v2/drive/create', { drive_name: 'team', owner: bob.user_id, total_size: 5 * MiB }, admin.access_token);
    await api.ok('/v2/drive/create', { drive_name: 'archive', owner: bob.user_id, total_size: null }, admin.access_token);
    // A quota of zero bytes is a quota (nothing fits), not unlimited: it adds 0 and is not counted apart.
    await api.ok('/v2/drive/create', { drive_name: 'frozen', owner: bob.user_id, total_size: 0 }, admin.access_token);
    await upload(server, admin.access_token, limited.drive_id, 'a.bin', Buffer.alloc(3000, 1));
    await upload(server, admin.access_token, admin.default_drive_id, 'b.bin', Buffer.alloc(1000, 2));

    const domain = await api.ok('/v2/domain/get', {}, admin.access_token);
    expect(domain).toMatchObject({ user_count: 2, drive_count: 5, used_size: 4000, total_size: 7 * MiB, unlimited_drive_count: 1, trash_retention_days: expect.any(Number) });
    // Numbers, not the strings PostgreSQL's bigint and numeric arrive as.
    for (const field of ['user_count', 'drive_count', 'used_size', 'total_size', 'unlimited_drive_count']) expect(typeof domain[field]).toBe('number');

    // Taking a drive's quota away moves it from total_size to the unlimited count.
    await api.ok('/v2/drive/update', { drive_id: limited.drive_id, total_size: null }, admin.access_token);
    expect(await api.ok('/v2/domain/get', {}, admin.access_token)).toMatchObject({ drive_count: 5, used_size: 4000, total_size: 2 * MiB, unlimited_drive_count: 2 });
  });

  it('reads all of it in one statement', async () => {
    const statements: string[] = [];
    const counting: Queryable = {
      query: (sql, params) => (statements.push(sql), server.deps.db.query(sql, params)),
      exec: (sql) => server.deps.db.exec(sql),
    };
    const usage = await createDomainRepository().usage(counting, server.deps.config.domainId);
    expect(usage).toEqual({ user_count: 2, drive_count: 5, used_size: 4000, total_size: 2 * MiB, unlimited_drive_count: 2 });
    expect(statements).toHaveLength(1);
  });

  it('is for admins only', async () => {
    const bob = await api.login('bob', 'bob-password');
    expect(await api.call('/v2/domain/get', {}, bob.access_token)).toMatchObject({ status: 403, body: { code: expect.stringMatching(/^Forbidden/) } });
  });
});
