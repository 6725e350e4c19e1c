/**
 * Garbage collection of stored bytes. Deletes, after a grace period: blobs no revision references,
 * abandoned upload sessions (with their parts and invisible file rows), store multipart uploads no
 * session knows (a crash between opening one and recording it), and objects no blob or session points at
 * (a crash between assembling an upload and committing it). Expired trash is purged first so its blobs
 * become collectable. Objects kept for the download links that name them (deferred-deletes.repository.ts)
 * go once those links have expired, and count as referenced until then. The database row is always
 * deleted before the object, never the other way round.
 */
import type { Deps } from '../../shared/deps';
import type { RecyclebinService } from '../recyclebin/recyclebin.service';
import { BLOB_KEY_FOLDER, createUploadsRepository, type UploadSessionRow } from '../uploads/uploads.repository';
import { deleteExpiredAttempts } from '../../shared/attempt-limits';
import { deleteExpiredRefreshTokens } from '../users/users.repository';
import { isDependencyUnavailable } from '../jobs/unavailable-dependency';
import { createDeferredDeletesRepository } from './deferred-deletes.repository';
import { createGcRepository } from './gc.repository';

export interface GcReport {
  trash_purged: number;
  blobs: number;
  sessions: number;
  store_uploads: number;
  orphan_objects: number;
  /** Objects kept for download links that have all expired now. */
  deferred_objects: number;
  /** Rows only their expiry kept: attempt counters whose window ended, refresh tokens past their expiry. */
  expired_rows: number;
  /** Store deletes or aborts that failed this run: each key was skipped (logged), the run went on. */
  failed_deletes: number;
}

const BATCH = 500;

export function createBlobGc(deps: Pick<Deps, 'db' | 'store' | 'clock' | 'config' | 'metrics' | 'logger' | 'storageClaim'>, recyclebin: RecyclebinService) {
  const repo = createGcRepository();
  const sessions = createUploadsRepository();
  const deferred = createDeferredDeletesRepository();

  /**
   * The store's side of a claimed session (its row is gone): its multipart upload, or its one-part object.
   * A failure leaves an upload or object no session knows, which a later run's store sweeps collect.
   */
  async function deleteSessionObjects(session: UploadSessionRow, signal?: AbortSignal) {
    signal?.throwIfAborted();
    const warn = (err: unknown) => {
      if (isDependencyUnavailable(err)) throw err; // the store is down: end the run (storeDelete says why)
      deps.logger.warn({ err, upload_id: session.upload_id }, 'blob gc: could not delete an abandoned upload\'s bytes; a later run retries');
    };
    if (session.store_upload_id) await deps.store.abortMultipart(session.storage_key, session.store_upload_id).catch(warn);
    await deps.store.delete(session.storage_key).catch(warn);
  }

  /**
   * One store delete (or abort) of the run. A failure is logged, counted and skipped: one key the store
   * always refuses (a permission, an odd name) aborted every run at that key, so every later step (the
   * deferred objects, the multipart and orphan sweeps) never ran again. The key's row is gone by then, so
   * the orphan sweep of a later run tries it again.
   *
   * An outage (the store unreachable, timing out, answering 5xx: isDependencyUnavailable) is rethrown and
   * ends the run instead, logged once by the caller: every key of a down store costs the SDK's three
   * attempts (~90 s when S3 stalls), so skipping on through 500 keys took hours, and a shutdown waited on
   * it. A stop (`signal`, see gc-schedule.ts) ends the run before its next delete: a row deleted whose object
   * was not is an orphan a later run's sweep collects, never the reverse.
   */
  async function storeDelete(report: GcReport, what: string, key: string, del: () => Promise<unknown>, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    try {
      await del();
      return true;
    } catch (err) {
      if (isDependencyUnavailable(err)) throw err;
      report.failed_deletes++;
      deps.logger.warn({ err, key, what }, 'blob gc: could not delete an object; skipped, a later run retries');
      return false;
    }
  }

  return {
    /** `signal` stops the run before its next store delete (a shutdown): run() then rejects with its reason. */
    async run(options: { graceSeconds?: number; signal?: AbortSignal } = {}): Promise<GcReport> {
      const { signal } = options;
      signal?.throwIfAborted();
      // Deletes nothing unless the store's claim is still this instance's (storage-claim.ts): throws if not.
      await deps.storageClaim?.verify();
      const grace = options.graceSeconds ?? deps.config.gcGraceSeconds;
      const before = new Date(deps.clock.now().getTime() - grace * 1000);
      const report: GcReport = { trash_purged: await recyclebin.purgeExpired(), blobs: 0, sessions: 0, store_uploads: 0, orphan_objects: 0, deferred_objects: 0, expired_rows: 0, failed_deletes: 0 };
      report.expired_rows = (await deleteExpiredAttempts(deps.db, deps.clock.now())) + (await deleteExpiredRefreshTokens(deps.db, deps.clock.now()));

      for (;;) {
        const abandoned = await repo.abandonedSessions(deps.db, before, BATCH);
        let claimed = 0;
        for (const listed of abandoned) {
          // The listing is stale by now: a file/complete may have claimed or finished this session since, and
          // its object is then that file's content. Only a session taken here, in the database, is ours to
          // delete (uploads.discard deletes whatever it is given, so it is not used here).
          // One claim that fails (a lock wait given up, a connection lost) leaves that session for the next
          // run, not the rest of this one: every later step of the run is independent of it.
          const session = await repo.claimAbandonedSession(deps.db, listed.upload_id, before).catch((err: unknown) => {
            deps.logger.warn({ err, upload_id: listed.upload_id }, 'blob gc: could not take an abandoned upload session; a later run retries');
            return undefined;
          });
          if (!session) continue;
          claimed++;
          await deleteSessionObjects(session, signal);
        }
        report.sessions += claimed;
        // A batch none of which could be taken would be listed again forever.
        if (abandoned.length < BATCH || claimed === 0) break;
      }
      await sessions.deleteCompletedSessions(deps.db, before);

      for (;;) {
        const candidates = await repo.unreferencedBlobs(deps.db, before, BATCH);
        for (const { sha256 } of candidates) {
          const key = await repo.deleteBlobIfUnreferenced(deps.db, sha256);
          if (key === undefined) continue;
          if (await storeDelete(report, 'blob', key, () => deps.store.delete(key), signal)) report.blobs++;
        }
        if (candidates.length < BATCH) break;
      }

      for (;;) {
        const due = await deferred.takeDue(deps.db, deps.clock.now(), BATCH);
        for (const { storage_key, in_use } of due) {
          if (in_use) continue;
          if (await storeDelete(report, 'deferred', storage_key, () => deps.store.delete(storage_key), signal)) report.deferred_objects++;
        }
        if (due.length < BATCH) break;
      }

      const open: { key: string; uploadId: string; initiated?: Date }[] = [];
      // Only this data plane's key space: with an empty OPENPDS_S3_PREFIX the listing is the whole
      // bucket's, and another application's multipart uploads there are none of ours to abort.
      for await (const u of deps.store.listMultipartUploads()) {
        if (u.key.startsWith(BLOB_KEY_FOLDER) && (!u.initiated || u.initiated < before)) open.push(u);
      }
      const known = open.length ? await repo.knownStoreUploads(deps.db, open.map((u) => u.uploadId)) : new Set<string>();
      for (const u of open) {
        if (known.has(u.uploadId)) continue;
        if (await storeDelete(report, 'store upload', u.key, () => deps.store.abortMultipart(u.key, u.uploadId), signal)) report.store_uploads++;
      }

      let page: string[] = [];
      const sweep = async () => {
        const referenced = await repo.referencedKeys(deps.db, page);
        for (const key of page) {
          if (referenced.has(key)) continue;
          if (await storeDelete(report, 'orphan', key, () => deps.store.delete(key), signal)) report.orphan_objects++;
        }
        page = [];
      };
      for await (const obj of deps.store.list(BLOB_KEY_FOLDER)) {
        // A young object may be a copy whose blob row is about to commit (the hash job's sealed copy).
        if (obj.modifiedAt > before) continue;
        page.push(obj.key);
        if (page.length >= BATCH) await sweep();
      }
      if (page.length) await sweep();

      deps.metrics.blobGc.inc({ kind: 'blob' }, report.blobs);
      deps.metrics.blobGc.inc({ kind: 'upload' }, report.sessions + report.store_uploads);
      deps.metrics.blobGc.inc({ kind: 'orphan' }, report.orphan_objects);
      deps.metrics.blobGc.inc({ kind: 'deferred' }, report.deferred_objects);
      deps.logger[report.failed_deletes ? 'warn' : 'info']({ gc: report }, 'blob gc finished');
      return report;
    },
  };
}
export type BlobGc = ReturnType<typeof createBlobGc>;
