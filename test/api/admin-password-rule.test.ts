/**
 * OPENPDS_ADMIN_PASSWORD follows the API's password rule when the first start makes it the superadmin's
 * (it took `a`: red team F3), and a data dir whose superadmin exists keeps starting whatever it is set to.
 */
import { rmSync } from 'node:fs';
import { ConfigError } from '../../api-server/src/config/config';
import { startServer } from '../../api-server/src/main';
import { testServerEnv } from '../support/test-server';

it('refuses a short OPENPDS_ADMIN_PASSWORD on the first start, naming it; an existing superadmin is never checked', async () => {
  const { env, dataDir } = await testServerEnv('pglite', 'local');
  try {
    const error = await startServer({ ...env, OPENPDS_ADMIN_PASSWORD: 'a' }).then((s) => s.close().then(() => undefined), (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('OPENPDS_ADMIN_PASSWORD must be at least 8 characters');
    expect((error as Error).message).not.toContain("'a'");
    // Fixed, the same data dir starts; set short again afterwards, it still starts (the superadmin exists).
    const ok = await startServer({ ...env, OPENPDS_ADMIN_PASSWORD: 'long-enough-1' });
    await ok.close();
    const again = await startServer({ ...env, OPENPDS_ADMIN_PASSWORD: 'a' });
    await again.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
