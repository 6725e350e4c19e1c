import { createWatchHub } from './watch-hub';

const event = (rv: number) => ({ type: 'ADDED' as const, object: { apiVersion: 'v1', kind: 'X', metadata: { name: `o${rv}` } }, resourceVersion: rv, storageKey: '/x' });

test('bounded history: resumes inside the window replay, older ones are 410 Expired', () => {
  const hub = createWatchHub(3);
  for (let rv = 1; rv <= 5; rv++) hub.publish(event(rv));
  expect(hub.since(2).map((e) => e.resourceVersion)).toEqual([3, 4, 5]);
  expect(() => hub.since(1)).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }));
  hub.compact(5);
  expect(hub.since(5)).toEqual([]);
  expect(() => hub.since(4)).toThrow(expect.objectContaining({ code: 410 }));
});

test('subscribers get live events and can be closed from the server side', () => {
  const hub = createWatchHub(10);
  const seen: number[] = [];
  let closed = false;
  const unsubscribe = hub.subscribe({ onEvent: (e) => seen.push(e.resourceVersion), close: () => (closed = true) });
  hub.publish(event(1));
  expect(hub.openWatches()).toBe(1);
  hub.closeAll();
  expect(closed).toBe(true);
  unsubscribe();
  hub.publish(event(2));
  expect(seen).toEqual([1]);
});
