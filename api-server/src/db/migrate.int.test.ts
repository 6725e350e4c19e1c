import { createTestDb, DB_KINDS } from '../../../test/support/test-db';
import { migrate, readMigrations } from './migrate';

describe.each(DB_KINDS)('migrations on %s', (kind) => {
  it('applies every migration once, and the schema counts references and quota', async () => {
    const db = await createTestDb(kind, { fromTemplate: true });
    try {
      expect(await migrate(db)).toEqual(readMigrations().map((m) => m.name));
      expect(await migrate(db)).toEqual([]);

      await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
      await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id, total_size) VALUES ('dr', 'd', 'x', 'u', 100)`);
      await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) VALUES ('s', 'h', 'p', 60, 'k')`);
      await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('f', 'dr', 'root', 'a', 'file')`);
      await db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('r1', 'f', 'dr', 's', 60, 'h')`);
      const [blob] = await db.query<{ ref_count: number; unreferenced_since: Date | null }>(`SELECT ref_count, unreferenced_since FROM blobs`);
      expect(blob).toEqual({ ref_count: 1, unreferenced_since: null });
      const [drive] = await db.query<{ used_size: number }>(`SELECT used_size FROM drives`);
      expect(drive!.used_size).toBe(60);

      // A second 60-byte revision would exceed the 100-byte quota: refused with OP001, nothing changes.
      await expect(
        db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('r2', 'f', 'dr', 's', 60, 'h')`),
      ).rejects.toMatchObject({ code: 'OP001' });
      expect((await db.query(`SELECT ref_count FROM blobs`))[0]).toEqual({ ref_count: 1 });

      await db.query(`DELETE FROM files WHERE file_id = 'f'`);
      expect((await db.query(`SELECT ref_count FROM blobs`))[0]).toEqual({ ref_count: 0 });
      expect((await db.query(`SELECT used_size FROM drives`))[0]).toEqual({ used_size: 0 });
    } finally {
      await db.close();
    }
  });
});
