import pino from 'pino';
import { createSchemaCheck, schemaReadiness } from './migrate-schema-check';
import type { Migration } from './migrate';

const known: Migration[] = [1, 2].map((version) => ({ version, name: `00${version}_m`, sql: '' }));
const fakeDb = (rows: () => { version: number; name: string }[]) => {
  let calls = 0;
  return { db: { query: async <T>() => (calls++, rows() as T[]), exec: async () => undefined }, calls: () => calls };
};

describe('createSchemaCheck', () => {
  it('says ok for a schema it knows, and the unknown migrations of a newer one, by name', async () => {
    const gauge = { set: jest.fn() };
    const { db } = fakeDb(() => [{ version: 1, name: '001_m' }, { version: 2, name: '002_m' }, { version: 21, name: '021_x' }, { version: 22, name: '022_y' }]);
    const check = createSchemaCheck({ db, allowNewer: false, logger: pino({ level: 'silent' }), version: '0.1.0', gauge, migrations: known });
    expect(check.readiness()).toBe('not checked yet');
    expect(check.servable()).toBe(false);
    expect(await check.decide()).toEqual({ unknown: ['021_x', '022_y'], allowed: false });
    expect(check.readiness()).toBe('newer than this version: 021_x, 022_y');
    expect(check.servable()).toBe(false);
    expect(gauge.set).toHaveBeenCalledWith(2);
  });

  it('decides once: a newer pod migrating later does not take a running one out of service', async () => {
    let rows = [{ version: 1, name: '001_m' }];
    const fake = fakeDb(() => rows);
    const check = createSchemaCheck({ db: fake.db, allowNewer: false, logger: pino({ level: 'silent' }), version: '0.1.0', migrations: known });
    await check.decide();
    rows = [...rows, { version: 21, name: '021_x' }];
    expect(await check.decide()).toEqual({ unknown: [], allowed: false });
    expect(check.servable()).toBe(true);
    expect(fake.calls()).toBe(1);
  });

  it('a failed read decides nothing: the next call reads again', async () => {
    let fail = true;
    const check = createSchemaCheck({
      db: { query: async <T>() => { if (fail) throw new Error('connect ECONNREFUSED'); return [] as T[]; }, exec: async () => undefined },
      allowNewer: false,
      logger: pino({ level: 'silent' }),
      version: '0.1.0',
      migrations: known,
    });
    await expect(check.decide()).rejects.toThrow('ECONNREFUSED');
    expect(check.readiness()).toBe('not checked yet');
    fail = false;
    await check.decide();
    expect(check.readiness()).toBe('ok');
  });

  it('OPENPDS_ALLOW_NEWER_SCHEMA makes a newer schema servable', () => {
    expect(schemaReadiness({ unknown: ['021_x'], allowed: true })).toBe('ok');
    expect(schemaReadiness({ unknown: [], allowed: false })).toBe('ok');
  });
});

test('a database not migrated yet (no schema_migrations) holds nothing newer', async () => {
  const db = { query: async () => Promise.reject(Object.assign(new Error('relation "schema_migrations" does not exist'), { code: '42P01' })), exec: async () => undefined };
  const check = createSchemaCheck({ db, allowNewer: false, logger: pino({ level: 'silent' }), version: '0.1.0', migrations: known });
  expect(await check.decide()).toEqual({ unknown: [], allowed: false });
  expect(check.readiness()).toBe('ok');
});
