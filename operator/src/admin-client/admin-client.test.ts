import { AdminApiError } from './admin-api-error';
import { createAdminClient, type FetchFn } from './admin-client';

/** A stand-in endpoint: the login works, every other call answers `answer` with status 200. */
function answering(answer: string): FetchFn {
  return async (input) => {
    const body = new URL(input).pathname === '/v2/account/login' ? '{"access_token":"t"}' : answer;
    return { status: 200, text: async () => body };
  };
}

const client = (fetch: FetchFn, timeoutMs?: number) => createAdminClient({ baseUrl: 'http://not-a-data-plane:8080', credentials: { username: 'admin', password: 'p' }, fetch, ...(timeoutMs ? { timeoutMs } : {}) });

async function failure(promise: Promise<unknown>): Promise<AdminApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AdminApiError);
  return error as AdminApiError;
}

/** Reads a list to its end; one that goes on past 100 items is taken for one that never ends. */
async function drain(items: AsyncGenerator<unknown>): Promise<void> {
  let count = 0;
  for await (const _ of items) if (++count > 100) throw new Error('the list never ends');
}

describe('an endpoint that answers 200 with something that is not the admin API', () => {
  it.each([
    ['{}', /field items is not a list/],
    ['null', /not a JSON object/],
    ['<html>ok</html>', /not a JSON object/],
    ['{"items":[{"drive_id":1}],"next_marker":""}', /items\[0\]: field drive_id is not a string/],
  ])('a drive list %s is an InvalidResponse AdminApiError, not a TypeError', async (answer, problem) => {
    const error = await failure(drain(client(answering(answer)).listAllDrives({ owner: 'team' })));
    expect(error).toMatchObject({ status: 200, code: 'InvalidResponse' });
    expect(error.message).toMatch(problem);
    expect(error.message).toContain('http://not-a-data-plane:8080/v2/drive/list');
  });

  it('checks drives, created drives and users too', async () => {
    expect(await failure(client(answering('{"ok":true}')).getDrive('d1'))).toMatchObject({ code: 'InvalidResponse' });
    expect(await failure(client(answering('{"ok":true}')).updateDrive('d1', { total_size: 1 }))).toMatchObject({ code: 'InvalidResponse' });
    expect(await failure(client(answering('{"ok":true}')).createDrive({ drive_name: 'x', owner: 'team' }))).toMatchObject({ code: 'InvalidResponse' });
    expect(await failure(client(answering('{}')).findUser('alice'))).toMatchObject({ code: 'InvalidResponse' });
  });

  it('takes a well-formed answer with fields it does not know', async () => {
    const drive = { drive_id: 'd1', drive_name: 'x', description: '', owner: 'team', owner_type: 'group', status: 'enabled', total_size: null, used_size: 0, default: false, something_new: 1 };
    await expect(client(answering(JSON.stringify(drive))).getDrive('d1')).resolves.toMatchObject({ drive_id: 'd1' });
    await expect(client(answering('{}')).deleteDrive('d1')).resolves.toBeUndefined();
  });
});

describe('an endpoint that does not answer', () => {
  it('says why the connection failed, not only "fetch failed"', async () => {
    const refused: FetchFn = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    };
    const error = await failure(client(refused).getDrive('d1'));
    expect(error).toMatchObject({ status: 0, code: 'Unreachable' });
    expect(error.message).toBe('http://not-a-data-plane:8080/v2/account/login: fetch failed (connect ECONNREFUSED 127.0.0.1:1)');
  });

  it('says how long it waited', async () => {
    const hangs: FetchFn = (_input, init) => new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
    const error = await failure(client(hangs, 50).getDrive('d1'));
    expect(error.message).toBe('http://not-a-data-plane:8080/v2/account/login: no answer within 50 ms');
  });
});

describe('a list that does not advance', () => {
  it('is an InvalidResponse once a marker comes back, not a loop that never ends', async () => {
    const drive = { drive_id: 'd1', drive_name: 'x', description: '', owner: 'team', owner_type: 'group', status: 'enabled', total_size: null, used_size: 0, default: false };
    // Ignores the marker it is given: the same first page, every time.
    const error = await failure(drain(client(answering(JSON.stringify({ items: [drive], next_marker: 'page-2' }))).listAllDrives({ owner: 'team' })));
    expect(error).toMatchObject({ code: 'InvalidResponse' });
    expect(error.message).toContain('next_marker "page-2" a second time');
    const users = answering(JSON.stringify({ items: [{ user_id: 'u1', user_name: 'alice' }], next_marker: 'u1' }));
    expect(await failure(drain(client(users).listAllUsers()))).toMatchObject({ code: 'InvalidResponse' });
  });
});

describe('credentials of a user who is no admin', () => {
  /** A data plane whose login answers with this role, and whose drive list then holds nothing (a user's view). */
  const loggingInAs = (role: string | undefined): FetchFn => async (input) => {
    const login = new URL(input).pathname === '/v2/account/login';
    const body = login ? JSON.stringify({ access_token: 't', user_name: 'bob', ...(role ? { role } : {}) }) : '{"items":[],"next_marker":""}';
    return { status: 200, text: async () => body };
  };

  it('are refused at login as a wrong password is: a user sees only their own drives, so every plan would be wrong', async () => {
    const error = await failure(drain(client(loggingInAs('user')).listAllDrives({ owner: 'team' })));
    expect(error).toMatchObject({ status: 403, code: 'Forbidden.NotAdmin' });
    expect(error.message).toContain('user "bob" logged in but is not an admin of the domain (role user)');
  });

  it.each(['admin', 'superadmin', undefined])('role %s is taken', async (role) => {
    await expect(drain(client(loggingInAs(role)).listAllDrives({ owner: 'team' }))).resolves.toBeUndefined();
  });
});
