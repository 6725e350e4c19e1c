import { createTestDb, DB_KINDS } from '../../../test/support/test-db';
import type { Db } from '../db/db';
import { migrate } from '../db/migrate';
import { createStorageClaimRepository } from './storage-claim.repository';

describe.each(DB_KINDS)('storage claim repository on %s', (kind) => {
  let db: Db;
  const repo = createStorageClaimRepository();
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
  });
  afterAll(() => db.close());

  it('counts the stored blobs only as far as the message needs', async () => {
    expect(await repo.knowsAnyObject(db)).toBe(false);
    expect(await repo.countBlobs(db)).toBe(0);
    await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 's' || i, 'h', 'p', 1, 'k' || i FROM generate_series(1, 3) i`);
    expect(await repo.knowsAnyObject(db)).toBe(true);
    expect(await repo.countBlobs(db)).toBe(3);
    // At the limit it stops reading: "at least 2".
    expect(await repo.countBlobs(db, 2)).toBe(2);
    expect(await repo.knowsAnyKey(db, ['k2', 'nope'])).toBe(true);
    expect(await repo.knowsAnyKey(db, ['nope'])).toBe(false);
  });
});
