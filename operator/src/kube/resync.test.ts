import { createFakeTimers } from './fake-timers';
import { jittered, startResync } from './resync';

test('enqueues every key once per interval, with the jitter inside ±fraction of it', async () => {
  const timers = createFakeTimers();
  const enqueued: string[] = [];
  const randoms = [0, 1, 0.5];
  const resync = startResync({ intervalMs: 1000, jitter: 0.2, keys: () => ['a/x', 'a/y'], enqueue: (k) => enqueued.push(k), timers, random: () => randoms.shift() ?? 0.5 });
  await timers.advance(799);
  expect(enqueued).toEqual([]);
  await timers.advance(1); // 1000 * (1 - 0.2)
  expect(enqueued).toEqual(['a/x', 'a/y']);
  await timers.advance(1199);
  expect(enqueued).toHaveLength(2);
  await timers.advance(1); // 1000 * (1 + 0.2)
  expect(enqueued).toHaveLength(4);
  expect(resync.count()).toBe(2);
  resync.stop();
  await timers.advance(10_000);
  expect(resync.count()).toBe(2);
  expect(timers.pending()).toBe(0);
});

test('jittered stays within bounds and never reaches zero', () => {
  expect(jittered(1000, 0.1, () => 0)).toBe(900);
  expect(jittered(1000, 0.1, () => 1)).toBe(1100);
  expect(jittered(1, 1, () => 0)).toBe(1);
});
