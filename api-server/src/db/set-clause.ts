/**
 * The SET list of a partial UPDATE: one `column = $n` per field present in the patch, parameters appended
 * to `params`, `updated_at = now()` last. Column names come from the caller's fixed list, never from input.
 */
export function setClause<T extends object>(patch: Partial<T>, columns: readonly (keyof T & string)[], params: unknown[], jsonColumns: readonly string[] = []): string {
  const sets: string[] = [];
  for (const column of columns) {
    const value = patch[column];
    if (value === undefined) continue;
    params.push(jsonColumns.includes(column) ? JSON.stringify(value) : value);
    sets.push(`${column} = $${params.length}`);
  }
  return [...sets, 'updated_at = now()'].join(', ');
}
