import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nextPassDelayMs, runUpCommand } from './up-command';

test('the next pass: at --resync, sooner on a requeue but not sooner than a second, and never later than --resync', () => {
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: Infinity })).toBe(10_000);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: 3_000 })).toBe(3_000);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 10_000, requeueAfterMs: 0 })).toBe(1_000);
  // --resync 0.25 asks for a pass every 250 ms: it was held to one a second.
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 250, requeueAfterMs: Infinity })).toBe(250);
  expect(nextPassDelayMs({ changedDuringPass: false, resyncMs: 250, requeueAfterMs: 0 })).toBe(250);
  expect(nextPassDelayMs({ changedDuringPass: true, resyncMs: 10_000, requeueAfterMs: Infinity })).toBe(200);
});

test('--resync below 0.1 s, zero, negative or not a number is refused before anything starts (0.001 spun)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-resync-'));
  try {
    for (const resync of ['0.001', '0.05', '0', '-1', 'soon']) {
      const err: string[] = [];
      expect(await runUpCommand(['-f', dir, '--state-dir', path.join(dir, 'state'), `--resync=${resync}`], { out: () => {}, err: (l) => err.push(l) })).toBe(2);
      expect(err.join('\n')).toMatch(/^openpds up: --resync must be a number of seconds, at least 0\.1/);
    }
    expect(fs.existsSync(path.join(dir, 'state'))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
