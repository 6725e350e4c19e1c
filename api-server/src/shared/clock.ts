/** Time as a boundary so tests can move it (GC grace periods, URL expiry, token lifetimes). */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
