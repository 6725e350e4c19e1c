/** The status `openpds up` prints (and writes to the state dir): one row per Domain and Drive, like `kubectl get`. */
import type { Drive } from '../domain-types';
import { findCondition } from '../kube/conditions';

export interface UpDomainRow {
  key: string;
  ready: 'True' | 'False';
  reason: string;
  /** The data plane's URL, or why it did not start. */
  detail: string;
}

export interface UpStatus {
  updatedAt: string;
  problems: string[];
  domains: UpDomainRow[];
  drives: { key: string; drive: Drive }[];
}

export function formatStatusTable(status: UpStatus): string {
  const rows: string[][] = [['KIND', 'NAMESPACE/NAME', 'READY', 'REASON', 'DETAIL']];
  for (const d of status.domains) rows.push(['Domain', d.key, d.ready, d.reason, d.detail]);
  for (const { key, drive } of status.drives) {
    const ready = findCondition(drive.status?.conditions, 'Ready');
    const s = drive.status;
    const detail = s?.driveId ? `${s.driveId} used ${s.usedSize ?? '?'} of ${s.totalSize === '0' ? 'unlimited' : (s.totalSize ?? '?')}` : (ready?.message ?? '');
    rows.push(['Drive', key, ready?.status ?? 'Unknown', ready?.reason ?? '', detail]);
  }
  return formatTable(rows);
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
