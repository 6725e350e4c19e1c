import { concurrentIndexName, isNoTransaction, noTransactionStatements, splitStatements, withoutConcurrently } from './migrate-no-transaction';
import { readMigrations } from './migrate';

describe('no-transaction migrations', () => {
  it('are marked by their first line only', () => {
    expect(isNoTransaction('-- openpds:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x);')).toBe(true);
    expect(isNoTransaction('-- a comment\n-- openpds:no-transaction\n')).toBe(false);
    expect(isNoTransaction('CREATE TABLE t (x int);')).toBe(false);
  });

  it('split on the semicolons that end statements, not those in quotes or comments', () => {
    const sql = `-- one; two
      CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x) WHERE s = 'a;b''c' /* ; */;
      CREATE INDEX CONCURRENTLY IF NOT EXISTS "we;ird" ON t (y) WHERE f($q$;$q$) AND g($$;$$);
      ;  -- trailing`;
    expect(splitStatements(sql)).toEqual([
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x) WHERE s = 'a;b''c'`,
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "we;ird" ON t (y) WHERE f($q$;$q$) AND g($$;$$)`,
    ]);
  });

  it('hold only statements safe to run again after a crash stopped the file midway', () => {
    expect(noTransactionStatements('x', 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x);\nDROP INDEX CONCURRENTLY IF EXISTS b;')).toHaveLength(2);
    for (const unsafe of ['CREATE INDEX CONCURRENTLY a ON t (x)', 'CREATE INDEX IF NOT EXISTS a ON t (x)', 'ALTER TABLE t ADD COLUMN y int', 'DROP INDEX b']) {
      expect(() => noTransactionStatements('022_x', `-- openpds:no-transaction\n${unsafe};`)).toThrow(/022_x: .* may hold only CREATE \[UNIQUE\] INDEX CONCURRENTLY IF NOT EXISTS/);
    }
  });

  it('name the index they build, and lose CONCURRENTLY for PGlite', () => {
    expect(concurrentIndexName('CREATE INDEX CONCURRENTLY IF NOT EXISTS files_x ON files (a)')).toBe('files_x');
    expect(concurrentIndexName('create unique index concurrently if not exists "Odd ""x""" on t (a)')).toBe('"Odd ""x"""');
    expect(concurrentIndexName('DROP INDEX CONCURRENTLY IF EXISTS files_x')).toBeUndefined();
    expect(withoutConcurrently("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x) WHERE s = 'CONCURRENTLY'")).toBe(
      "CREATE UNIQUE INDEX IF NOT EXISTS a ON t (x) WHERE s = 'CONCURRENTLY'",
    );
    expect(withoutConcurrently('DROP INDEX CONCURRENTLY IF EXISTS a')).toBe('DROP INDEX IF EXISTS a');
  });

  it('include 021, whose index builds must not block writes to files', () => {
    const m = readMigrations().find((x) => x.version === 21)!;
    expect(isNoTransaction(m.sql)).toBe(true);
    expect(noTransactionStatements(m.name, m.sql).map(concurrentIndexName)).toEqual(['files_by_category_name', 'files_uploading_children']);
  });
});
