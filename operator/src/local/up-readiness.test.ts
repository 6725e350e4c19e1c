/** The status table's Domain row follows the data plane's /readyz, not only its start (red team F9). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedDomainDatabase } from '../../../test/operator/support/up-seed';
import { formatStatusTable } from './status-table';
import { createUpRunner } from './up-runner';

jest.setTimeout(120_000);

test('a data plane that runs but answers /readyz 503 is NotReady with what it said (once in the log); ready again, Running', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-readiness-'));
  const dir = path.join(work, 'm');
  const state = path.join(work, 'state');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'domain.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}}\n');
  await seedDomainDatabase(state, 'd');
  let answer = { ready: false, message: 'http://127.0.0.1:1/readyz answered 503: schema: newer (42 > 41)' };
  const lines: string[] = [];
  const runner = createUpRunner({ dir, stateDir: state, basePort: 0, logLevel: 'warn', log: (l) => lines.push(l), probe: async () => answer });
  try {
    await runner.sync();
    const { status } = await runner.sync();
    expect(status.domains).toEqual([{ key: 'default/d', ready: 'False', reason: 'NotReady', detail: answer.message }]);
    expect(formatStatusTable(status)).toContain('Domain  default/d       False  NotReady');
    expect(lines.filter((l) => l.includes('not ready'))).toEqual([`Domain default/d: not ready: ${answer.message}`]);
    answer = { ready: true, message: 'http://127.0.0.1:1/readyz answered 200' };
    const again = await runner.sync();
    expect(again.status.domains).toEqual([expect.objectContaining({ ready: 'True', reason: 'Running' })]);
    expect(lines.at(-1)).toBe('Domain default/d: ready (http://127.0.0.1:1/readyz answered 200)');
  } finally {
    await runner.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
