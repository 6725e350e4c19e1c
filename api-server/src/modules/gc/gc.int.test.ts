/**
 * The GC/rapid-upload race, on PostgreSQL where two connections really interleave: a blob that a
 * transaction is claiming (inserting a revision that references it) must survive a concurrent GC.
 */
import { createTestDb } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createGcRepository } from './gc.repository';

describe('blob GC against a concurrent claim (PostgreSQL)', () => {
  let db: Db;
  const gc = createGcRepository();

  beforeAll(async () => {
    db = await createTestDb('pg');
    await migrate(db);
    await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
    await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ('dr', 'd', 'x', 'u')`);
  });
  afterAll(() => db?.close());

  const addBlob = (sha: string) =>
    db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, unreferenced_since) VALUES ($1, 'h', 'p', 1, $1, now() - interval '2 days')`, [sha]);

  it('never deletes a blob whose claim commits while the GC waits', async () => {
    await addBlob('claimed');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let claimed!: () => void;
    const claimStarted = new Promise<void>((r) => (claimed = r));
    const claim = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('f1', 'dr', 'root', 'a', 'file')`);
      await tx.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('r1', 'f1', 'dr', 'claimed', 1, 'h')`);
      claimed();
      await held;
    });
    await claimStarted;
    const candidates = await gc.unreferencedBlobs(db, new Date(), 10);
    expect(candidates.map((c) => c.sha256)).toContain('claimed'); // the GC saw it unreferenced…
    const deleting = gc.deleteBlobIfUnreferenced(db, 'claimed'); // …and now blocks on the claim's row lock
    await new Promise((r) => setTimeout(r, 200));
    release();
    await claim;
    expect(await deleting).toBeUndefined();
    expect(await db.query(`SELECT ref_count FROM blobs WHERE sha256 = 'claimed'`)).toEqual([{ ref_count: 1 }]);
  });

  it('a claim that comes after the GC deleted the row fails on its foreign key, linking nothing', async () => {
    await addBlob('gone');
    expect(await gc.deleteBlobIfUnreferenced(db, 'gone')).toBe('gone');
    await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('f2', 'dr', 'root', 'b', 'file')`);
    await expect(
      db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('r2', 'f2', 'dr', 'gone', 1, 'h')`),
    ).rejects.toMatchObject({ code: '23503' });
    expect(await db.query(`SELECT used_size FROM drives WHERE drive_id = 'dr'`)).toEqual([{ used_size: 1 }]);
  });
});
