/**
 * Strings in UTF-16 code-unit order (what `<` compares, and Go's sort of strings for ASCII), never
 * localeCompare: a collation follows the process's locale ($LANG), so output sorted by it (manifests, the
 * Secret keys a status message names, the settings ConfigMap's hashed name) would differ between two
 * operator replicas with another LANG, and status or data planes would flap at each change of leader.
 */
export const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
