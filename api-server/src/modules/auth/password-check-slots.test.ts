import { createPasswordCheckSlots } from './password-check-slots';

describe('password check slots', () => {
  /** A check that runs until released, noting how many run at once. */
  function checks() {
    let running = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const check = () =>
      new Promise<string>((resolve) => {
        most = Math.max(most, ++running);
        release.push(() => {
          running--;
          resolve('done');
        });
      });
    return { check, release, most: () => most, running: () => running };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('runs atOnce checks, queues `waiting` more in order, and refuses the rest at once with 503 Busy', async () => {
    const slots = createPasswordCheckSlots({ atOnce: 2, waiting: 3 });
    const c = checks();
    const admitted = Array.from({ length: 5 }, () => slots.run(c.check));
    const refused = slots.run(c.check);
    await expect(refused).rejects.toMatchObject({ code: 'ServiceUnavailable.Busy', status: 503, options: { headers: { 'Retry-After': '1' } } });
    await tick();
    expect(c.running()).toBe(2);
    // Each check that ends hands its slot to the next in line: never more than 2 run.
    while (c.release.length) {
      c.release.shift()!();
      await tick();
    }
    await expect(Promise.all(admitted)).resolves.toEqual(Array(5).fill('done'));
    expect(c.most()).toBe(2);
    // All slots free again: a burst as big is admitted again.
    const again = Array.from({ length: 5 }, () => slots.run(c.check));
    await tick();
    expect(c.running()).toBe(2);
    while (c.release.length) {
      c.release.shift()!();
      await tick();
    }
    await Promise.all(again);
  });

  it('frees the slot of a check that fails', async () => {
    const slots = createPasswordCheckSlots({ atOnce: 1, waiting: 0 });
    await expect(slots.run(() => Promise.reject(new Error('out of memory')))).rejects.toThrow('out of memory');
    await expect(slots.run(async () => 'ok')).resolves.toBe('ok');
  });
});
