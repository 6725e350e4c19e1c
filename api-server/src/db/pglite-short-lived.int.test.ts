// Which V8 compiler PostgreSQL's WebAssembly gets: a server turns Liftoff off (TurboFan alone: less resident
// code), a short-lived command keeps it (it starts in less than half the time; PgliteOptions.shortLived).
// The flag itself cannot be read back from V8, so the call that sets it is what is checked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { seedPgliteDataDir } from '../../../test/support/pglite-template';
import { createPgliteDb } from './pglite.db';

describe('PGlite compile choice', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openpds-short-lived-'));
  beforeAll(() => seedPgliteDataDir(dir));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => jest.restoreAllMocks());

  async function flagsSetOpening(options: { shortLived?: boolean }): Promise<string[]> {
    // Recorded, not applied: --no-liftoff stays set for the rest of the process once V8 has it.
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    const db = await createPgliteDb(path.join(dir, 'db'), options);
    try {
      expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    return set.mock.calls.map(([flag]) => flag);
  }

  it('a short-lived command (migrate, admin, jobs, plan/apply data planes) keeps Liftoff', async () => {
    expect(await flagsSetOpening({ shortLived: true })).not.toContain('--no-liftoff');
  });

  it('a server turns Liftoff off', async () => {
    expect(await flagsSetOpening({})).toContain('--no-liftoff');
  });
});
