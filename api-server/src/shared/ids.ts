import { randomBytes } from 'node:crypto';

/** Ids are sortable by creation time (48-bit ms timestamp) then random: hex, 26 chars, safe in URLs. */
export type IdGenerator = () => string;

export const createIdGenerator =
  (now: () => number = Date.now): IdGenerator =>
  () =>
    now().toString(16).padStart(12, '0') + randomBytes(7).toString('hex');
