import { startGcSchedule } from './gc-schedule';

const logger = { error: jest.fn(), warn: jest.fn() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the GC schedule', () => {
  it('skips a tick while a run is still in flight', async () => {
    let runs = 0;
    let finish!: () => void;
    const schedule = startGcSchedule(
      () => {
        runs++;
        return new Promise<void>((r) => (finish = r));
      },
      { intervalMs: 10, logger },
    );
    await sleep(80);
    expect(runs).toBe(1);
    finish();
    await sleep(40);
    expect(runs).toBe(2);
    finish();
    await schedule.stop(1000);
  });

  it('aborts the run at stop, and waits for one that ignores it only up to the grace', async () => {
    let signal: AbortSignal | undefined;
    const schedule = startGcSchedule(
      (s) => {
        signal = s;
        return new Promise<void>(() => undefined); // a store delete that never returns
      },
      { intervalMs: 5, logger },
    );
    await sleep(30);
    expect(schedule.running).toBe(true);
    const started = Date.now();
    await schedule.stop(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(signal?.aborted).toBe(true);
    expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ grace_ms: 200 }), expect.stringContaining('still running at close'));
  });

  it('returns as soon as an aborted run ends, without logging it as a failure', async () => {
    logger.error.mockClear();
    const afterRun = jest.fn(async () => undefined);
    const schedule = startGcSchedule(
      (s) => new Promise<void>((_, reject) => s.addEventListener('abort', () => reject(s.reason))),
      { intervalMs: 5, logger, afterRun },
    );
    await sleep(30);
    const started = Date.now();
    await schedule.stop(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(logger.error).not.toHaveBeenCalled();
    expect(afterRun).not.toHaveBeenCalled();
  });
});
