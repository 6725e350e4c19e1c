import { ADMIN_PASSWORD, startTestServer } from '../../../test/support/test-server';
import { AdminApiError, isAdminApiError } from './admin-api-error';
import { createAdminClient, type FetchFn } from './admin-client';

describe('admin client against a real data plane (PGlite, local disk)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let adminUserId: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    adminUserId = (await server.api.login('admin', ADMIN_PASSWORD)).user_id;
  });
  afterAll(() => server?.stop());

  /** Counts logins and lets a test spoil the token of the next authenticated call (as an expiry would). */
  function recordingFetch() {
    const calls: string[] = [];
    let spoilNext = false;
    const fetchFn: FetchFn = (input, init) => {
      calls.push(new URL(input).pathname);
      const headers = { ...(init.headers as Record<string, string>) };
      if (spoilNext && headers.authorization) {
        spoilNext = false;
        headers.authorization = 'Bearer expired-or-from-a-previous-key';
      }
      return fetch(input, { ...init, headers });
    };
    return { fetchFn, calls, spoil: () => (spoilNext = true), logins: () => calls.filter((p) => p === '/v2/account/login').length };
  }

  it('creates, gets, lists, updates and deletes a drive, logging in once', async () => {
    const rec = recordingFetch();
    const client = createAdminClient({ baseUrl: `${server.url}/`, credentials: { username: 'admin', password: ADMIN_PASSWORD }, fetch: rec.fetchFn });

    const created = await client.createDrive({ drive_name: 'team-a', owner: adminUserId, total_size: 1024 ** 3, description: 'from the operator' });
    expect(created.drive_id).toEqual(expect.any(String));

    const drive = await client.getDrive(created.drive_id);
    expect(drive).toMatchObject({ drive_id: created.drive_id, drive_name: 'team-a', owner: adminUserId, total_size: 1024 ** 3, used_size: 0, status: 'enabled' });

    const updated = await client.updateDrive(created.drive_id, { total_size: null, description: 'unlimited now' });
    expect(updated).toMatchObject({ total_size: null, description: 'unlimited now' });

    const page = await client.listDrives({ owner: adminUserId, limit: 100 });
    expect(page.items.map((d) => d.drive_id)).toContain(created.drive_id);

    await client.deleteDrive(created.drive_id);
    const missing = await client.getDrive(created.drive_id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AdminApiError);
    expect(missing).toMatchObject({ status: 404, code: 'NotFound.Drive', isNotFound: true, isRetryable: false });
    expect(rec.logins()).toBe(1);
  });

  it('follows markers through every page', async () => {
    const client = createAdminClient({ baseUrl: server.url, credentials: async () => ({ username: 'admin', password: ADMIN_PASSWORD }) });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await client.createDrive({ drive_name: `paged-${i}`, owner: adminUserId })).drive_id);
    const seen: string[] = [];
    for await (const d of client.listAllDrives({ owner: adminUserId, limit: 2 })) seen.push(d.drive_id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(ids));
    for (const id of ids) await client.deleteDrive(id);
  });

  it('logs in again once when a call answers 401, sharing one login between concurrent calls', async () => {
    const rec = recordingFetch();
    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD }, fetch: rec.fetchFn });
    await Promise.all([client.listDrives({ limit: 1 }), client.listDrives({ limit: 1 }), client.listDrives({ limit: 1 })]);
    expect(rec.logins()).toBe(1);
    rec.spoil();
    await expect(client.listDrives({ limit: 1 })).resolves.toMatchObject({ items: expect.any(Array) });
    expect(rec.logins()).toBe(2);
  });

  it('finds a user by id or by user name, and answers undefined for neither', async () => {
    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
    const alice = await server.api.ok('/v2/user/create', { user_name: 'alice-lookup', password: 'alice-password' }, (await server.api.login('admin', ADMIN_PASSWORD)).access_token);
    await expect(client.findUser(alice.user_id)).resolves.toMatchObject({ user_id: alice.user_id, user_name: 'alice-lookup' });
    await expect(client.findUser('alice-lookup')).resolves.toMatchObject({ user_id: alice.user_id });
    await expect(client.findUser('nobody-here')).resolves.toBeUndefined();
    // By name, one search call, no scan of the users.
    const rec = recordingFetch();
    const counted = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD }, fetch: rec.fetchFn });
    await expect(counted.findUser('alice-lookup')).resolves.toMatchObject({ user_id: alice.user_id });
    expect(rec.calls.filter((p) => p !== '/v2/account/login')).toEqual(['/v2/user/get', '/v2/user/search']);
    // A data plane older than /v2/user/search (its route answers 404): found by the paged scan instead.
    const old = createAdminClient({
      baseUrl: server.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
      fetch: (input, init) => (new URL(input).pathname === '/v2/user/search' ? fetch(`${server.url}/v2/no-such-route`, init) : fetch(input, init)),
    });
    await expect(old.findUser('alice-lookup')).resolves.toMatchObject({ user_id: alice.user_id });
    await expect(old.findUser('nobody-here')).resolves.toBeUndefined();
    const names: string[] = [];
    for await (const u of client.listAllUsers({ limit: 1 })) names.push(u.user_name);
    expect(names).toEqual(expect.arrayContaining(['admin', 'alice-lookup']));
  });

  it('refuses a name that is one user\'s id and another\'s user name (data made before the data plane refused it)', async () => {
    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
    const token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    const holder = await server.api.ok('/v2/user/create', { user_id: 'clash-alice', user_name: 'clash-mallory' }, token);
    const named = await server.api.ok('/v2/user/create', { user_name: 'clash-later' }, token);
    // user/create refuses this now (409 AlreadyExist.User): as it was left before the fix.
    await server.deps.db.query(`UPDATE users SET user_name = 'clash-alice' WHERE user_id = $1`, [named.user_id]);
    const ambiguous = await client.findUser('clash-alice').catch((e: unknown) => e);
    expect(ambiguous).toMatchObject({ status: 409, code: 'Conflict.AmbiguousUser', isRetryable: false, message: expect.stringContaining(named.user_id) });
    // Each is still found by what names it alone.
    await expect(client.findUser(named.user_id)).resolves.toMatchObject({ user_id: named.user_id });
    await expect(client.findUser('clash-mallory')).resolves.toMatchObject({ user_id: holder.user_id });
    // A data plane older than /v2/user/search is older than caller-given ids: the id stands.
    const old = createAdminClient({
      baseUrl: server.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
      fetch: (input, init) => (new URL(input).pathname === '/v2/user/search' ? fetch(`${server.url}/v2/no-such-route`, init) : fetch(input, init)),
    });
    await expect(old.findUser('clash-alice')).resolves.toMatchObject({ user_id: 'clash-alice' });
  });

  it('reads the domain\'s usage: users, drives, bytes used, quotas and unlimited drives', async () => {
    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
    const before = await client.getDomain();
    expect(before).toMatchObject({ domain_id: expect.any(String), user_count: expect.any(Number), drive_count: expect.any(Number), used_size: expect.any(Number), total_size: expect.any(Number), unlimited_drive_count: expect.any(Number) });
    const quota = await client.createDrive({ drive_name: 'usage-quota', owner: adminUserId, total_size: 3 * 1024 ** 2 });
    const open = await client.createDrive({ drive_name: 'usage-open', owner: adminUserId, total_size: null });
    await expect(client.getDomain({ timeoutMs: 2000 })).resolves.toMatchObject({
      drive_count: before.drive_count + 2,
      total_size: before.total_size + 3 * 1024 ** 2,
      unlimited_drive_count: before.unlimited_drive_count + 1,
      used_size: before.used_size,
      user_count: before.user_count,
    });
    for (const d of [quota, open]) await client.deleteDrive(d.drive_id);
  });

  it('gives up on the domain within timeoutMs, a slow login included, and is fine once it answers', async () => {
    let delayMs = 1500;
    const slowLogin: FetchFn = async (input, init) => {
      if (new URL(input).pathname === '/v2/account/login') await new Promise((r) => setTimeout(r, delayMs));
      return fetch(input, init);
    };
    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD }, fetch: slowLogin });
    const startedAt = performance.now();
    const late = await client.getDomain({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(performance.now() - startedAt).toBeLessThan(1000);
    expect(late).toMatchObject({ status: 0, code: 'Unreachable', isRetryable: true, message: expect.stringContaining('within 300 ms') });
    // The login went on and its token is kept: the next call needs no login and answers in time.
    delayMs = 0;
    await new Promise((r) => setTimeout(r, 1500));
    await expect(client.getDomain({ timeoutMs: 300 })).resolves.toMatchObject({ user_count: expect.any(Number) });
  });

  it('raises wrong credentials, bad input and an unreachable domain as AdminApiError', async () => {
    const wrong = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: 'nope' } });
    const denied = await wrong.listDrives().catch((e: unknown) => e);
    expect(isAdminApiError(denied)).toBe(true);
    expect(denied).toMatchObject({ status: 401 });

    const client = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
    const invalid = await client.createDrive({ drive_name: '', owner: adminUserId }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: expect.stringMatching(/\w/) });

    const gone = createAdminClient({ baseUrl: 'http://127.0.0.1:9', credentials: { username: 'admin', password: 'x' }, timeoutMs: 2000 });
    const unreachable = await gone.getDrive('d').catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ status: 0, code: 'Unreachable', isRetryable: true });
  });
});
