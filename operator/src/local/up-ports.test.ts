/** Ports of `up`'s data planes (red team F10): a move off a busy port is said; the search ends at 65535. */
import net from 'node:net';
import { seedDomainDatabase } from '../../../test/operator/support/up-seed';
import { DOMAIN_YAML, upHarness } from '../../../test/operator/support/up-harness';
import type { Domain } from '../domain-types';
import { startDomain } from './domain-runner';
import { loadManifests } from './manifests';

jest.setTimeout(120_000);

const h = upHarness('openpds-up-ports-');

/** Holds 127.0.0.1:port (already in use is as good); the function returned frees it. */
async function occupy(port: number): Promise<() => Promise<void>> {
  const server = net.createServer();
  const held = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  return () => (held ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve());
}

test('the port of its last run in use: the Domain moves, and up says so with its new URL', async () => {
  h.writeFolder({ 'domain.yaml': DOMAIN_YAML('d') });
  let up = h.start();
  const listening = await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '));
  const port = Number(new URL(listening.split(' on ')[1]!).port);
  up.stop();
  expect(await up.exited).toBe(0);
  const free = await occupy(port);
  try {
    const from = h.lines.length;
    up = h.start();
    const moved = await h.logged((l) => l.startsWith(`Domain default/d: port ${port} of its last run is in use: moved to `), from);
    const url = (await h.logged((l) => l.startsWith('Domain default/d: data plane listening on '), from)).split(' on ')[1]!;
    expect(moved).toBe(`Domain default/d: port ${port} of its last run is in use: moved to ${new URL(url).port} (its URL is now ${url})`);
    up.stop();
    expect(await up.exited).toBe(0);
  } finally {
    await free();
  }
});

test('--base-port 65535 with that port in use: a clear error, no port past 65535 tried', async () => {
  await seedDomainDatabase(h.state, 'd');
  const domain = loadManifests(h.dir).domains[0] as Domain;
  const free = await occupy(65535);
  try {
    await expect(startDomain(domain, { stateDir: h.state, basePort: 65535, logLevel: 'warn', usedPorts: new Set() })).rejects.toThrow(
      'no free port for its data plane: 65535..65535 are all in use (by other programs or this run\'s other Domains); give another --base-port (0: any free port)',
    );
  } finally {
    await free();
  }
});
