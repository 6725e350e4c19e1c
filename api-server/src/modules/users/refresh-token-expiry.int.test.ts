/** The GC's pass over refresh tokens: the expired ones go (rotation deletes only tokens that are used). */
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { deleteExpiredRefreshTokens } from './users.repository';

describe.each(DB_KINDS)('expired refresh tokens on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
    await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
    await db.query(`INSERT INTO users (user_id, domain_id, user_name) VALUES ('u', 'd', 'u')`);
  });
  afterAll(() => db?.close());

  it('deletes tokens past their expiry and keeps the others', async () => {
    const now = new Date('2026-12-06T12:00:00Z');
    await db.query(`INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ('old', 'u', $1), ('edge', 'u', $2), ('live', 'u', $3)`, [
      new Date(now.getTime() - 1000), now, new Date(now.getTime() + 1000),
    ]);
    expect(await deleteExpiredRefreshTokens(db, now)).toBe(2);
    expect(await db.query(`SELECT token_hash FROM refresh_tokens`)).toEqual([{ token_hash: 'live' }]);
  });
});
