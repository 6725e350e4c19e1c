import { createProofLimits } from './proof-limits';

// The challenges per window are an attempt limit (shared/attempt-limits.int.test.ts; over HTTP in
// test/api/login-throttle-shared.int.test.ts); this is the per-process bound on checks running at once.
describe('proof v2 limits', () => {
  it('runs at most the given number of checks at once, in arrival order, and frees a slot on failure', async () => {
    const limits = createProofLimits({ challengesPerWindow: 1, windowMs: 1000, concurrentChecks: 2 });
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) =>
      limits.check(async () => {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        order.push(i);
        if (fail) throw new Error(`job ${i}`);
        return i;
      });
    const results = await Promise.allSettled([job(0), job(1, true), job(2), job(3), job(4)]);
    expect(most).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(order.slice(2).sort()).toEqual([2, 3, 4]);
    expect(await job(5)).toBe(5);
  });
});
