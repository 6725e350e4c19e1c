/**
 * A copied folder never takes the name of a folder already there (red team: file/copy of a folder with
 * check_name_mode refuse or overwrite onto a folder's name answered 201 and left two folders "B" side by
 * side). It answers 409 AlreadyExist.File as file/move does; auto_rename gives the next free name; and
 * file/create of a folder under refuse still answers the existing one (mkdir -p). On PGlite and PostgreSQL.
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('copy of a folder onto a taken name on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  serverWithUser(dbKind, storeKind, 'copier', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  const folder = (name: string, parent = 'root', mode = 'refuse') => api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder', check_name_mode: mode }, token);
  const names = async (parent: string) => (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: parent, limit: 100 }, token)).items.map((i: { name: string }) => i.name).sort();

  it('answers 409 AlreadyExist.File under refuse and overwrite, for its own ancestor and for an unrelated folder, and auto-renames', async () => {
    const A = await folder('A');
    const B = await folder('B', A.file_id);
    const C = await folder('C', B.file_id);
    await folder('S', A.file_id);
    for (const [newName, mode] of [['B', 'overwrite'], ['B', 'refuse'], ['S', 'overwrite'], ['S', 'refuse']]) {
      const r = await api.call('/v2/file/copy', { drive_id: d, file_id: C.file_id, to_parent_file_id: A.file_id, new_name: newName, check_name_mode: mode }, token);
      expect([newName, mode, r.status, r.body.code]).toEqual([newName, mode, 409, 'AlreadyExist.File']);
      // As file/move answers the same request.
      const m = await api.call('/v2/file/move', { drive_id: d, file_id: C.file_id, to_parent_file_id: A.file_id, new_name: newName, check_name_mode: mode }, token);
      expect([newName, mode, m.status, m.body.code]).toEqual([newName, mode, 409, 'AlreadyExist.File']);
    }
    expect(await names(A.file_id)).toEqual(['B', 'S']);
    const renamed = await api.ok('/v2/file/copy', { drive_id: d, file_id: C.file_id, to_parent_file_id: A.file_id, new_name: 'B', check_name_mode: 'auto_rename' }, token);
    expect(renamed.name).toBe('B(1)');
    expect(await names(A.file_id)).toEqual(['B', 'B(1)', 'S']);
    expect(await names(B.file_id)).toEqual(['C']);
  });

  it('still answers file/create of a folder under refuse with the folder already there', async () => {
    const first = await folder('mkdir-p');
    const again = await folder('mkdir-p');
    expect([again.file_id, again.exist]).toEqual([first.file_id, true]);
    expect((await names('root')).filter((n: string) => n === 'mkdir-p')).toHaveLength(1);
  });
});
