/**
 * In-flight reservations as a sealing's claim (blob-sealing.ts): a claim committed after the looking
 * transaction began is fresh to it. PostgreSQL only: two transactions interleave only there (PGlite has
 * one connection, and the autocommitted reservation would wait for the open transaction).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDb } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createDeferredDeletesRepository } from './deferred-deletes.repository';

describe('in-flight reservations (PostgreSQL)', () => {
  let db: Db;
  const deferred = createDeferredDeletesRepository();
  beforeAll(async () => {
    db = await createTestDb('pg');
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('sees a reservation made after its transaction began as fresh', async () => {
    await db.transaction(async (tx) => {
      await tx.query('SELECT 1'); // the transaction's now() is fixed here
      await sleep(50);
      await deferred.reserveInFlight(db, 'blobs/u1.sealed-link-a');
      expect(await deferred.hasFreshReservation(tx, 'blobs/u1.sealed-link-', 60)).toBe(true);
    });
  });

  it('does not take a download link keep or a stale claim for a fresh one', async () => {
    await deferred.defer(db, ['blobs/u2.sealed-link-b'], 32 * 3600 + 86_400);
    expect(await deferred.hasFreshReservation(db, 'blobs/u2.sealed-link-', 60)).toBe(false);
    await db.query(`INSERT INTO deferred_object_deletes (storage_key, delete_after) VALUES ('blobs/u3.sealed-link-c', now() + interval '86400 seconds' - interval '61 seconds')`);
    expect(await deferred.hasFreshReservation(db, 'blobs/u3.sealed-link-', 60)).toBe(false);
  });
});
