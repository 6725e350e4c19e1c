/**
 * Migration 023 repairs users.default_drive_id written before drive/delete and drive/create kept it: a user
 * whose default drive was deleted named the deleted drive, and one given a new default drive afterwards
 * still named the old one. Applied on a database holding such rows from 022.
 */
import { createTestDb, DB_KINDS } from '../../../test/support/test-db';
import type { Db } from './db';
import { migrate, readMigrations } from './migrate';

describe.each(DB_KINDS)('migration 023 on %s', (kind) => {
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it("points each user at the drive that is their default, or at none", async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db, readMigrations().filter((m) => m.version <= 22));
    await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
    const user = (id: string, defaultDriveId: string | null) => db!.query(`INSERT INTO users (user_id, domain_id, user_name, default_drive_id) VALUES ($1, 'd', $1, $2)`, [id, defaultDriveId]);
    const drive = (id: string, owner: string, isDefault: boolean, ownerType = 'user') =>
      db!.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_type, owner_id, is_default) VALUES ($1, 'd', $1, $2, $3, $4)`, [id, ownerType, owner, isDefault]);
    await user('kept', 'kept-1'); // as it should be
    await drive('kept-1', 'kept', true);
    await drive('kept-2', 'kept', false);
    await user('deleted', 'gone-1'); // the default drive deleted, no other
    await drive('deleted-2', 'deleted', false);
    await user('replaced', 'gone-2'); // the default drive deleted, a new default made
    await drive('replaced-new', 'replaced', true);
    await user('never', null); // a user made before it had a default drive, given one since
    await drive('never-1', 'never', true);
    await user('grouped', 'gone-3'); // a group's default drive with the user's name is not theirs
    await drive('group-1', 'grouped', true, 'group');

    expect(await migrate(db)).toEqual(readMigrations().filter((m) => m.version > 22).map((m) => m.name));
    const rows = await db.query<{ user_id: string; default_drive_id: string | null }>(`SELECT user_id, default_drive_id FROM users ORDER BY user_id`);
    expect(Object.fromEntries(rows.map((r) => [r.user_id, r.default_drive_id]))).toEqual({
      kept: 'kept-1',
      deleted: null,
      replaced: 'replaced-new',
      never: 'never-1',
      grouped: null,
    });
  });
});
