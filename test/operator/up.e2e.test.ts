// `openpds up -f examples/quickstart/` end to end: a real in-process data plane per Domain, the Drive
// applied through its admin API, a quota edited in the manifest applied, hand-made drift corrected, and a
// restart over the same state dir that finds the same drive again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runUpCommand } from '../../operator/src/local/up-command';
import { createApiClient } from '../support/test-server';

const REPO = path.resolve(__dirname, '../..');
const GiB = 1024 ** 3;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('openpds up on examples/quickstart', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-'));
  const dir = path.join(work, 'manifests');
  const state = path.join(work, 'state');
  const lines: string[] = [];
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  function start() {
    const controller = new AbortController();
    const exited = runUpCommand(['-f', dir, '--state-dir', state, '--base-port', '0', '--resync', '1'], { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) });
    return { exited, stop: () => controller.abort() };
  }

  async function domainApi() {
    const domainDir = path.join(state, 'up/default/quickstart');
    const { url } = await waitFor('domain.json', () => (fs.existsSync(path.join(domainDir, 'domain.json')) ? JSON.parse(fs.readFileSync(path.join(domainDir, 'domain.json'), 'utf8')) : undefined));
    const api = createApiClient(url);
    const { access_token } = await api.login('admin', fs.readFileSync(path.join(domainDir, 'admin-password'), 'utf8').trim());
    return { api, token: access_token };
  }

  function driveStatus() {
    const file = path.join(state, 'up/status.json');
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')).drives.find((d: { key: string }) => d.key === 'default/team')?.drive.status;
  }

  it('runs the Domain as a data plane, applies the Drive, follows manifest edits and corrects drift', async () => {
    fs.cpSync(path.join(REPO, 'examples/quickstart'), dir, { recursive: true });
    const up = start();
    try {
      const status = await waitFor('the Drive to be Ready', () => (driveStatus()?.conditions?.find((c: any) => c.type === 'Ready' && c.status === 'True') ? driveStatus() : undefined));
      const { api, token } = await domainApi();
      const drive = await api.ok('/v2/drive/get', { drive_id: status.driveId }, token);
      expect(drive).toMatchObject({ drive_name: 'Team drive', owner: 'team', owner_type: 'group', total_size: 5 * GiB });
      expect(lines.join('\n')).toMatch(/Drive\s+default\/team\s+True\s+Applied/);

      const manifest = path.join(dir, 'drive.yaml');
      fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('totalSize: 5Gi', 'totalSize: 7Gi'));
      await waitFor('the new quota', async () => ((await api.ok('/v2/drive/get', { drive_id: status.driveId }, token)).total_size === 7 * GiB ? true : undefined));
      await waitFor('the status to follow', () => (driveStatus()?.totalSize === '7Gi' ? true : undefined));

      await api.ok('/v2/drive/update', { drive_id: status.driveId, total_size: GiB }, token);
      await waitFor('the drift to be corrected', async () => ((await api.ok('/v2/drive/get', { drive_id: status.driveId }, token)).total_size === 7 * GiB ? true : undefined));
      expect(lines.join('\n')).toContain('Warning DriftDetected');
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('a restart over the same state finds the same drive, and a removed Drive (Retain) keeps its data', async () => {
    const before = driveStatus().driveId as string;
    const restartedAt = new Date().toISOString();
    const up = start();
    try {
      await waitFor('the data plane to restart', () => (lines.filter((l) => l.includes('data plane listening')).length >= 2 ? true : undefined));
      const { api, token } = await domainApi();
      await waitFor('a pass after the restart', () => (JSON.parse(fs.readFileSync(path.join(state, 'up/status.json'), 'utf8')).updatedAt > restartedAt ? true : undefined));
      expect(driveStatus().driveId).toBe(before);
      const all = await api.ok('/v2/drive/list', { owner: 'team' }, token);
      expect(all.items.map((d: { drive_id: string }) => d.drive_id)).toEqual([before]);

      fs.rmSync(path.join(dir, 'drive.yaml'));
      await waitFor('the Drive to leave the status', () => (driveStatus() === undefined ? true : undefined));
      const kept = await api.ok('/v2/drive/get', { drive_id: before }, token);
      expect(kept.description).not.toContain('openpds.io/uid=');
      expect(lines.join('\n')).toContain('Normal Retained');
      if (process.env.SHOW_UP_OUTPUT) console.log(lines.join('\n'));
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
});

describe('openpds up on examples/hosting', () => {
  it('does not run a hosting Domain as something else: StorageModeUnsupported, as the operator says, and its Drive waits', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-hosting-'));
    const state = path.join(work, 'state');
    const lines: string[] = [];
    const controller = new AbortController();
    const exited = runUpCommand(['-f', path.join(REPO, 'examples/hosting'), '--state-dir', state, '--base-port', '0', '--resync', '1'], { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) });
    try {
      const status = await waitFor('status.json', () => {
        const file = path.join(state, 'up/status.json');
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      });
      expect(status.domains).toEqual([expect.objectContaining({ key: 'default/photos', ready: 'False', reason: 'StorageModeUnsupported', detail: expect.stringContaining('storage.mode hosting is not implemented') })]);
      expect(lines.join('\n')).not.toContain('data plane listening');
      expect(status.drives[0].drive.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady' });
    } finally {
      controller.abort();
      await expect(exited).resolves.toBe(0);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
