/**
 * timestamptz as PostgreSQL writes it in text (DateStyle ISO: `2024-07-01 12:00:00.123456+02`, offsets
 * down to seconds, ` BC` for years before 1), read into a Date the way pg reads it (pg-types'
 * postgres-date), for PGlite: PGlite's own parser reads years 0001-0099 as 1950-2049 (a file's
 * local_modified_at of 0001-01-01, .NET's DateTime.MinValue, came back as 2001-01-01). Here rather than pg's
 * parser itself: the embedded default never loads pg (idle RSS).
 */
const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

export function parseTimestamptz(text: string): Date {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return new Date(text); // 'infinity', '-infinity': what PGlite answered before (never stored here)
  let year = Number(m[1]);
  if (m[12]) year = 1 - year; // 1 BC is year 0 in JavaScript's proleptic calendar, as in postgres-date
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  // Date.UTC reads years 0-99 as 1900-1999: set the year afterwards.
  const date = new Date(Date.UTC(2000, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  if (m[8]) {
    const offsetSeconds = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    date.setTime(date.getTime() - (m[8] === '+' ? 1 : -1) * offsetSeconds * 1000);
  }
  return date;
}
