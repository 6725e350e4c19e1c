import pg from 'pg';
import { parseTimestamptz } from './timestamptz';

// What pg (node-postgres) makes of the same text: the PostgreSQL setup's reading, which the embedded one
// must match.
const pgParse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;

describe('parseTimestamptz reads PostgreSQL text as pg does', () => {
  it.each([
    '2024-07-01 12:00:00+00',
    '2024-07-01 12:00:00.123456+02',
    '2024-07-01 12:00:00.5-09:30',
    '1883-11-18 12:03:58+00:03:58',
    '0001-01-01 00:00:00+00',
    '0049-12-31 23:59:59.5+00',
    '0099-07-04 12:00:00-14',
    '0100-01-01 00:00:00+14',
    '9999-12-31 23:59:59.999+00',
    '1970-01-01 00:00:00+00',
    '0001-12-31 23:00:00+00 BC',
  ])('%s', (text) => {
    const ours = parseTimestamptz(text);
    expect(ours.getTime()).not.toBeNaN();
    expect(ours.toISOString()).toBe(pgParse(text).toISOString());
  });

  it('keeps years before 100 (PGlite read 0001 as 2001)', () => {
    expect(parseTimestamptz('0001-01-01 00:00:00+00').toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(parseTimestamptz('0099-07-04 12:00:00+00').getUTCFullYear()).toBe(99);
  });
});
