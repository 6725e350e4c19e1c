/**
 * The client side of the PDS API for benchmarks: log in, and upload through create → PUT parts to the
 * returned upload URLs → complete, reading parts from a file or a buffer.
 */
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ADMIN_PASSWORD, createApiClient, type ApiClient } from '../../test/support/test-server';
import { mapLimit } from './services';

export interface Session {
  api: ApiClient;
  token: string;
  driveId: string;
}

export async function loginAdmin(url: string): Promise<Session> {
  const api = createApiClient(url);
  const s = await api.login('admin', ADMIN_PASSWORD);
  // Benchmarks store more than the default 10 GiB quota over a run; lift it.
  await api.ok('/v2/drive/update', { drive_id: s.default_drive_id, total_size: 1024 ** 5 }, s.access_token);
  return { api, token: s.access_token, driveId: s.default_drive_id };
}

export async function putPart(url: string, body: Buffer): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body });
  if (!res.ok) throw new Error(`PUT part: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

export type PartSource = (offset: number, length: number) => Promise<Buffer>;

/** Parts read from a file with positional reads (one buffer per part in flight). */
export async function fileParts(file: string): Promise<{ read: PartSource; close(): Promise<void> }> {
  const fh = await open(file, 'r');
  return {
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new Error(`short read at ${offset}: ${bytesRead}/${length}`);
      return buf;
    },
    close: () => fh.close(),
  };
}

export const bufferParts = (content: Buffer): PartSource => async (offset, length) => content.subarray(offset, offset + length);

/** One file through the API; returns the completed file and the time (ms) of each phase. */
export async function apiUpload(
  s: Session,
  o: { name: string; size: number; partSize: number; concurrency: number; read: PartSource; parent?: string },
): Promise<{ file: { file_id: string; content_hash: string; size: number }; phases: { create: number; parts: number; complete: number } }> {
  const t0 = performance.now();
  const count = Math.max(1, Math.ceil(o.size / o.partSize));
  const created = await s.api.ok('/v2/file/create', {
    drive_id: s.driveId,
    parent_file_id: o.parent ?? 'root',
    name: o.name,
    type: 'file',
    size: o.size,
    check_name_mode: 'auto_rename',
    part_info_list: Array.from({ length: count }, (_, i) => ({ part_number: i + 1 })),
  }, s.token);
  const t1 = performance.now();
  await mapLimit(created.part_info_list as { part_number: number; upload_url: string }[], o.concurrency, async (p) => {
    const offset = (p.part_number - 1) * o.partSize;
    await putPart(p.upload_url, await o.read(offset, Math.min(o.partSize, o.size - offset)));
  });
  const t2 = performance.now();
  const file = await s.api.ok('/v2/file/complete', { drive_id: s.driveId, file_id: created.file_id, upload_id: created.upload_id }, s.token);
  return { file, phases: { create: t1 - t0, parts: t2 - t1, complete: performance.now() - t2 } };
}

/**
 * Waits until the server's job backlog is empty (content hashed in the background after uploads without a
 * declared content_hash) and resolves to the wait in ms. Hashing is not part of the upload a client waits
 * for, but the benchmarks report it beside the upload figure and must not delete objects it still reads.
 */
export async function waitJobsDone(s: Session, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  // The gauges are read in the background (job-backlog.metrics.ts): a 0 counts only once it was read after
  // this call; a scrape finding figures over 1 s old starts a read, so the wait is at most ~1 s too long.
  const since = Date.now() / 1000;
  for (;;) {
    const text = await (await fetch(`${s.api.url}/metrics`)).text();
    const backlog = Number(/^openpds_jobs_backlog (\S+)$/m.exec(text)?.[1] ?? NaN);
    const readAt = Number(/^openpds_jobs_backlog_refreshed_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? NaN);
    if (backlog === 0 && readAt >= since) return performance.now() - t0;
    if (!/^openpds_jobs_backlog /m.test(text)) throw new Error('the server exports no openpds_jobs_backlog');
    if (performance.now() - t0 > timeoutMs) throw new Error(`jobs still queued after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
