import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockStateDir, STALE_MS, stateLockFile } from './up-state-lock';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-lock-'));

test('a second up on the state dir is refused, naming the holder; released, the state can be taken again', () => {
  const state = path.join(tmp(), 'state');
  const release = lockStateDir(state, '/work/upA');
  try {
    expect(() => lockStateDir(state, '/work/upB')).toThrow(
      `the state dir ${state} is in use by openpds up (pid ${process.pid} on ${os.hostname()}, -f /work/upA): stop that one first, or give this one another --state-dir. ` +
        `If it no longer runs, delete ${path.join(state, 'up.lock')} (a lock not touched for 120 s is taken over by itself).`,
    );
  } finally {
    release();
  }
  expect(fs.existsSync(stateLockFile(state))).toBe(false);
  lockStateDir(state, '/work/upB')();
});

test('held by another live process of this host: refused; once it exited: taken over', async () => {
  const state = tmp();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  fs.writeFileSync(stateLockFile(state), JSON.stringify({ host: os.hostname(), pid: child.pid, folder: '/work/upA' }));
  try {
    expect(() => lockStateDir(state, '/work/upB')).toThrow(`in use by openpds up (pid ${child.pid} on ${os.hostname()}, -f /work/upA)`);
  } finally {
    child.kill();
    await exited;
  }
  const release = lockStateDir(state, '/work/upB');
  expect(JSON.parse(fs.readFileSync(stateLockFile(state), 'utf8'))).toEqual({ host: os.hostname(), pid: process.pid, folder: '/work/upB' });
  release();
});

test("another host's lock is kept while fresh and taken over once stale", () => {
  const state = tmp();
  const file = stateLockFile(state);
  fs.writeFileSync(file, JSON.stringify({ host: 'elsewhere', pid: 1 }));
  expect(() => lockStateDir(state, '/f')).toThrow('in use by openpds up (pid 1 on elsewhere)');
  const old = new Date(Date.now() - STALE_MS - 1_000);
  fs.utimesSync(file, old, old);
  lockStateDir(state, '/f')();
});
