import { z } from 'zod';

/** The instants both PostgreSQL's timestamptz and Date.toISOString write as a plain 4-digit-year ISO string. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A client's file time (file/create local_created_at and local_modified_at, file/update local_modified_at):
 * an ISO 8601 date-time, with or without an offset, of a year from 0001 to 9999 in UTC. The rest of the
 * range is 400 InvalidParameter.<Field> here: 9999-12-31T23:59:59-14:00 is in year 10000 in UTC, which
 * toISOString writes as "+010000-…" and PGlite refused (SQLSTATE 22009, a 500), and 0000-… (or
 * 0001-01-01T00:00:00+01:00) is a year PostgreSQL does not have (a 400 that named no field).
 */
export const localTimeField = z.iso
  .datetime({ offset: true, local: true })
  .refine((s) => {
    const at = Date.parse(s);
    return at >= EARLIEST && at <= LATEST;
  }, 'must be a date-time from year 0001 to 9999 (UTC)');
