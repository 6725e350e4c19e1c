import { nextPassDelayMs } from './up-command';

test('the next pass: at --resync, sooner on a requeue but not sooner than a second, and never later than --resync', () => {
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: Infinity })).toBe(10_000);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: 3_000 })).toBe(3_000);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: 0 })).toBe(1_000);
  // --resync 0.25 asks for a pass every 250 ms: it was held to one a second.
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 250, requeueAfterMs: Infinity })).toBe(250);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 250, requeueAfterMs: 0 })).toBe(250);
  expect(nextPassDelayMs({ changedDuringPass: true, resyncMs: 10_000, requeueAfterMs: Infinity })).toBe(200);
});
