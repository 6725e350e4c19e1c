/**
 * A state dir, lock, data dir or admin-password file that goes away under a running `up` (red team F2, F3):
 * `up` stops its Domains with one clear error instead of re-creating an empty Domain at the same URL, and
 * never invents a password for a database that has one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DOMAIN_YAML, upHarness } from '../../../test/operator/support/up-harness';
import { adminPassword, StateDirError } from './state-dir';

jest.setTimeout(120_000);

describe('up over a state that goes away', () => {
  const h = upHarness('openpds-up-state-lost-');

  test('the admin-password file deleted while up runs: the Domain is not restarted and no new password is written', async () => {
    h.writeFolder({ 'domain.yaml': DOMAIN_YAML('d') });
    const up = h.start();
    await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '));
    const file = path.join(h.state, 'up/default/d/admin-password');
    const password = fs.readFileSync(file, 'utf8');
    fs.unlinkSync(file);
    await h.passes(3);
    expect(h.lines.filter((l) => l.includes('restarting'))).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    up.stop();
    expect(await up.exited).toBe(0);

    // Started again without it: refused, naming the file and the way back; nothing invented.
    const from = h.lines.length;
    const again = h.start();
    const refused = await h.logged((l) => l.startsWith('Domain default/d: failed to start: '), from);
    expect(refused).toContain(`${file} is missing, but the Domain's database exists`);
    expect(refused).toContain(`OPENPDS_DATA_DIR=${path.join(h.state, 'up/default/d/data')} OPENPDS_DOMAIN_ID=d openpds admin reset-password --password-stdin < ${file}`);
    expect(fs.existsSync(file)).toBe(false);
    again.stop();
    expect(await again.exited).toBe(0);
    fs.writeFileSync(file, password, { mode: 0o600 });
  });

  test("a running Domain's data dir moved away: up stops every Domain with an error (exit 1) and starts no empty one", async () => {
    h.writeFolder({ 'domain.yaml': DOMAIN_YAML('d') });
    const from = h.lines.length;
    const up = h.start();
    await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '), from);
    const data = path.join(h.state, 'up/default/d/data');
    fs.renameSync(data, `${data}.moved`);
    expect(await up.exited).toBe(1);
    expect(h.lines.slice(from)).toContainEqual(
      `ERR openpds up: the data dir ${data} of Domain default/d is gone (deleted or moved while up was running): stopping every Domain, re-creating nothing (their data went with the folder: put it back where it was, then run openpds up again)`,
    );
    expect(h.lines.slice(from).filter((l) => l.includes('restarting') || l.includes('failed to start'))).toEqual([]);
    // No initdb there (the stopped data plane may have re-made an empty blobs/ folder before it stopped).
    expect(fs.existsSync(path.join(data, 'db/PG_VERSION'))).toBe(false);
    fs.rmSync(data, { recursive: true, force: true });
    fs.renameSync(`${data}.moved`, data);
  });

  test('the state dir moved away (its lock with it): up stops every Domain with an error (exit 1), no new data dir', async () => {
    const from = h.lines.length;
    const up = h.start();
    await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '), from);
    await h.passes(1);
    const moved = `${h.state}.moved`;
    fs.renameSync(h.state, moved);
    expect(await up.exited).toBe(1);
    const error = h.lines.slice(from).find((l) => l.startsWith('ERR '));
    expect(error).toMatch(/^ERR openpds up: the (lock file .*up\.lock is gone|data dir .* is gone).*: stopping every Domain, re-creating nothing/);
    expect(fs.existsSync(path.join(h.state, 'up/default/d/data/db/PG_VERSION'))).toBe(false);
    fs.rmSync(h.state, { recursive: true, force: true });
    fs.renameSync(moved, h.state);
  });
});

test('adminPassword invents one for a new Domain only, never for a database that exists', () => {
  const state = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'openpds-admin-password-'));
  try {
    const first = adminPassword(state, 'default', 'd');
    expect(adminPassword(state, 'default', 'd')).toBe(first);
    const dir = path.join(state, 'up/default/d');
    fs.mkdirSync(path.join(dir, 'data/db'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data/db/PG_VERSION'), '17\n');
    fs.unlinkSync(path.join(dir, 'admin-password'));
    expect(adminPassword(state, 'default', 'd')).not.toBe(first); // a database that never ran has no admin yet
    fs.unlinkSync(path.join(dir, 'admin-password'));
    fs.writeFileSync(path.join(dir, 'domain.json'), '{"url":"http://127.0.0.1:1","port":1}\n');
    expect(() => adminPassword(state, 'default', 'd', 'my id')).toThrow(StateDirError);
    expect(() => adminPassword(state, 'default', 'd', 'my id')).toThrow(`OPENPDS_DOMAIN_ID='my id' openpds admin reset-password --password-stdin`);
    expect(fs.existsSync(path.join(dir, 'admin-password'))).toBe(false);
  } finally {
    fs.rmSync(state, { recursive: true, force: true });
  }
});
