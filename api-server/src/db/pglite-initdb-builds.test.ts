/** Builds of the PGlite initdb cache that a crashed first start left behind go once an hour old. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeStaleInitdbBuilds } from './pglite.db';

it('removes initdb builds untouched for an hour, and nothing else', () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'openpds-initdb-builds-'));
  try {
    const make = (name: string, ageMs: number) => {
      mkdirSync(path.join(cache, name, 'db'), { recursive: true });
      writeFileSync(path.join(cache, name, 'db', 'PG_VERSION'), '17\n');
      const at = new Date(Date.now() - ageMs);
      utimesSync(path.join(cache, name), at, at);
    };
    make('pglite-initdb-0.3.0.building-crashed', 2 * 3_600_000);
    make('pglite-initdb-0.3.0.building-live', 5_000); // another start building right now
    make('pglite-initdb-0.2.0', 30 * 24 * 3_600_000); // a template: not a build
    make('unrelated.building-x', 2 * 3_600_000);
    removeStaleInitdbBuilds(cache);
    expect(readdirSync(cache).sort()).toEqual(['pglite-initdb-0.2.0', 'pglite-initdb-0.3.0.building-live', 'unrelated.building-x']);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
