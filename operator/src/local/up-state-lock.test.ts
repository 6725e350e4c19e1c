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

test('apply and plan record their command: a run refused by one names it, with the hint its caller gives', () => {
  const state = path.join(tmp(), 'state');
  const release = lockStateDir(state, '/work/upA', { command: 'apply', hint: 'stop it first.' });
  try {
    expect(JSON.parse(fs.readFileSync(stateLockFile(state), 'utf8'))).toEqual({ command: 'apply', folder: '/work/upA', host: os.hostname(), pid: process.pid });
    expect(() => lockStateDir(state, '/work/upA')).toThrow(`in use by openpds apply (pid ${process.pid} on ${os.hostname()}, -f /work/upA): stop that one first, or give this one another --state-dir. `);
    let refused: unknown;
    try {
      lockStateDir(state, '/work/upA', { command: 'plan', hint: 'plan hint.' });
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ name: 'StateDirBusyError', holder: { command: 'apply', pid: process.pid }, message: expect.stringContaining('-f /work/upA): plan hint. If it no longer runs') });
  } finally {
    release();
  }
});
