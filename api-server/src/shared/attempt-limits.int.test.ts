/** Attempt limits in the database (migration 014), on PGlite and PostgreSQL, with a clock the test moves. */
import { createTestDb, DB_KINDS } from '../../../test/support/test-db';
import type { Db } from '../db/db';
import { migrate } from '../db/migrate';
import { createAttemptLimit, deleteExpiredAttempts } from './attempt-limits';

describe.each(DB_KINDS)('attempt limits on %s', (kind) => {
  let db: Db;
  let t = Date.parse('2026-12-06T12:00:00Z');
  const now = () => new Date(t);
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('lets `limit` attempts through per window, then says how long until the window ends', async () => {
    const limit = createAttemptLimit({ limit: 3, windowMs: 60_000, now });
    expect(await Promise.all([1, 2, 3].map(() => limit.take(db, 'bob')))).toEqual([0, 0, 0]);
    t += 10_000;
    expect(await limit.take(db, 'bob')).toBe(50_000);
    expect(await limit.take(db, 'alice')).toBe(0);
    // Refused attempts do not move the window.
    t += 49_999;
    expect(await limit.take(db, 'bob')).toBe(1);
    t += 1;
    expect(await limit.take(db, 'bob')).toBe(0);
    expect(await limit.take(db, 'bob')).toBe(0);
  });

  it('counts a burst of parallel attempts one by one', async () => {
    const limit = createAttemptLimit({ limit: 5, windowMs: 60_000, now });
    const waits = await Promise.all(Array.from({ length: 40 }, () => limit.take(db, 'burst')));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    // Hammered far past its limit, the counter stays at limit + 1; keys are stored hashed (a fixed size).
    const rows = await db.query<{ key: string; count: number }>(`SELECT key, count FROM attempt_counters WHERE count = 6`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('clear forgets a key; the GC deletes windows that have ended', async () => {
    const limit = createAttemptLimit({ limit: 1, windowMs: 60_000, now });
    expect(await limit.take(db, 'carol')).toBe(0);
    expect(await limit.take(db, 'carol')).toBeGreaterThan(0);
    await limit.clear(db, 'carol');
    expect(await limit.take(db, 'carol')).toBe(0);
    const before = (await db.query(`SELECT key FROM attempt_counters`)).length;
    expect(await deleteExpiredAttempts(db, now())).toBe(0);
    t += 60_000;
    expect(await deleteExpiredAttempts(db, now())).toBe(before);
  });
});
