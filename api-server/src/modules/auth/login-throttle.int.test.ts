/**
 * A login throttle trip is logged (red team: a guessing client left no trace in the log): one warning when a
 * user and address start being refused, naming them, never the password, and not one per refused attempt.
 */
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createLoginThrottle, MAX_ADDRESS_FAILURES, MAX_FAILURES, WINDOW_MS } from './login-throttle';

describe.each(DB_KINDS)('login throttle on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('warns once when a user and address start being refused, again after the window, never per attempt', async () => {
    let clock = new Date('2026-01-01T00:00:00Z');
    const warnings: Array<[Record<string, unknown>, string]> = [];
    const throttle = createLoginThrottle(() => clock, { warn: ((obj: Record<string, unknown>, msg: string) => void warnings.push([obj, msg])) as never });
    const key = 'login:id:u-alice\n203.0.113.7';
    const attempt = () => throttle.take(db, key, { user_name: 'alice', address: '203.0.113.7' });
    for (let i = 0; i < MAX_FAILURES; i++) expect(await attempt()).toBe(0);
    expect(warnings).toEqual([]);
    for (let i = 0; i < 5; i++) expect(await attempt()).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toMatchObject({ user_name: 'alice', user_id: 'u-alice', address: '203.0.113.7', retry_in_seconds: WINDOW_MS / 1000 });
    expect(JSON.stringify(warnings)).not.toMatch(/password"|pw/i);

    // Another address of the same user is its own key, and its own warning.
    const elsewhere = 'login:id:u-alice\n198.51.100.1';
    for (let i = 0; i <= MAX_FAILURES; i++) await throttle.take(db, elsewhere);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]![0]).toMatchObject({ user_id: 'u-alice', address: '198.51.100.1' });

    // After the window the count starts again; a new trip is a new warning.
    clock = new Date(clock.getTime() + WINDOW_MS + 1);
    for (let i = 0; i < MAX_FAILURES; i++) expect(await attempt()).toBe(0);
    expect(warnings).toHaveLength(2);
    expect(await attempt()).toBeGreaterThan(0);
    expect(warnings).toHaveLength(3);
  });

  it('reads a login key for the log when not told who it is', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const throttle = createLoginThrottle(() => new Date(), { warn: ((obj: Record<string, unknown>) => void warnings.push(obj)) as never });
    const key = `login:name:nobody-${kind}\n192.0.2.9`;
    for (let i = 0; i <= MAX_FAILURES + 2; i++) await throttle.take(db, key);
    expect(warnings).toEqual([expect.objectContaining({ user_name: `nobody-${kind}`, address: '192.0.2.9' })]);
  });

  it('limits failed logins per address whatever the names, gives back what refund returns, and warns once', async () => {
    let clock = new Date('2026-02-01T00:00:00Z');
    const warnings: Array<Record<string, unknown>> = [];
    const throttle = createLoginThrottle(() => clock, { warn: ((obj: Record<string, unknown>) => void warnings.push(obj)) as never });
    const address = `198.51.100.${kind === 'pg' ? 7 : 8}`;
    for (let i = 0; i < MAX_ADDRESS_FAILURES; i++) expect(await throttle.takeAddress(db, address)).toBe(0);
    expect(await throttle.takeAddress(db, address)).toBe(WINDOW_MS);
    expect(await throttle.takeAddress(db, address)).toBe(WINDOW_MS);
    expect(warnings).toEqual([expect.objectContaining({ address, max_failures: MAX_ADDRESS_FAILURES })]);
    // Another address is its own count; the user keys are apart from it.
    expect(await throttle.takeAddress(db, '198.51.100.200')).toBe(0);
    expect(await throttle.take(db, `login:name:x\n${address}`)).toBe(0);

    // Refunds: a success (or a busy server) gives its attempt back, so only failures add up.
    clock = new Date(clock.getTime() + WINDOW_MS + 1);
    for (let i = 0; i < 3 * MAX_ADDRESS_FAILURES; i++) {
      expect(await throttle.takeAddress(db, address)).toBe(0);
      await throttle.refundAddress(db, address);
    }
    for (let i = 0; i < MAX_ADDRESS_FAILURES; i++) expect(await throttle.takeAddress(db, address)).toBe(0);
    expect(await throttle.takeAddress(db, address)).toBeGreaterThan(0);
    expect(warnings).toHaveLength(2);
    // A refund after the window has ended leaves the next window's count alone.
    clock = new Date(clock.getTime() + WINDOW_MS + 1);
    await throttle.refundAddress(db, address);
    expect(await throttle.takeAddress(db, address)).toBe(0);
  });
});
