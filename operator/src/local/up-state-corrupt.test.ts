/** A drives.json that turns to garbage under a running `up` (red team F8): its Domains keep serving. */
import fs from 'node:fs';
import path from 'node:path';
import { DOMAIN_YAML, upHarness } from '../../../test/operator/support/up-harness';

jest.setTimeout(120_000);

const h = upHarness('openpds-up-state-corrupt-');

test('a garbage drives.json: said once with its name, the running Domain keeps serving, no Drive is touched; fixed, up goes on', async () => {
  h.writeFolder({ 'domain.yaml': DOMAIN_YAML('d') });
  const up = h.start();
  try {
    await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '));
    await h.passes(1);
    const drives = path.join(h.state, 'up/drives.json');
    fs.writeFileSync(drives, 'garbage{');
    const from = h.lines.length;
    const said = await h.logged((l) => l.startsWith(`${drives} is not valid JSON`), from);
    expect(said).toContain('until it is fixed no Drive is applied, deleted or released, and no Domain stopped (the Domains keep running)');
    await h.passes(2);
    expect(h.status().domains).toEqual([expect.objectContaining({ key: 'default/d', ready: 'True', reason: 'Running' })]);
    expect(h.lines.slice(from).filter((l) => l.startsWith('ERR ') || l.includes('stopped') || l.includes('restarting') || l.includes(' is not valid JSON'))).toEqual([said]);
    fs.writeFileSync(drives, '{}\n');
    await h.passes(2);
    expect(h.status().problems).toEqual([]);
  } finally {
    up.stop();
    expect(await up.exited).toBe(0);
  }
});
