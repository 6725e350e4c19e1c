/**
 * Sealing a one-part upload for a download link (blob-sealing.ts) on PostgreSQL + radosgw S3: the copy
 * (up to 5 GiB) holds no pool connection, and two replicas sealing one blob at once end with one sealed
 * copy the blob uses, the other gone. The single-copy and ContentReplaced cases, and PGlite, are in
 * test/api/download-links-after-hashing.int.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { createPgDb } from '../../db/pg.db';
import type { BlobStore } from '../../storage/blob-store';
import { serverWithUser, type ApiClient, type LoggedInUser, type TestServer } from '../../../../test/support/test-server';
import { createBlobSealing } from './blob-sealing';

type Blob = { sha256: string; storage_key: string; size: number };

/** A promise with its resolve, for gates the tests open. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** p, or a rejection naming `what` after ms. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The real store, with copy() held at `hold(to)` after the object is written, before it returns. */
function holdingCopies(real: BlobStore, hold: (to: string) => Promise<void>, onCopy: (to: string) => void = () => {}): BlobStore {
  return Object.assign(Object.create(real) as BlobStore, {
    async copy(from: string, to: string) {
      onCopy(to);
      const copied = await real.copy(from, to);
      await hold(to);
      return copied;
    },
  });
}

describe('sealing one-part uploads for links, on pg + s3', () => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser('pg', 's3', 'sealing', (ready) => ({ server, api, user } = ready));

  /** Uploads one-part files with the hash job held back, runs fn on their placeholder blobs, then lets the job run. */
  async function withUnhashed(contents: Buffer[], fn: (blobs: (Blob & { fileId: string })[]) => Promise<void>): Promise<void> {
    await server.services.jobs.drain();
    await server.services.jobs.close();
    try {
      const blobs = [];
      for (const [i, content] of contents.entries()) {
        const d = user.default_drive_id;
        const created = await api.ok('/v2/file/create', { drive_id: d, name: `s${i}.bin`, type: 'file', size: content.length, check_name_mode: 'auto_rename', part_info_list: [{ part_number: 1 }] }, user.access_token);
        expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
        await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
        const [blob] = await server.deps.db.query<Blob>(
          `SELECT b.sha256, b.storage_key, b.size FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.file_id = $1`,
          [created.file_id],
        );
        blobs.push({ ...blob!, fileId: created.file_id as string });
      }
      await fn(blobs);
    } finally {
      server.services.jobs.start();
    }
    await server.services.jobs.drain();
  }

  const blobRow = async (sha256: string) =>
    (await server.deps.db.query<{ storage_key: string; client_writable: boolean }>(`SELECT storage_key, client_writable FROM blobs WHERE sha256 = $1`, [sha256]))[0]!;
  const reserved = async (key: string) => (await server.deps.db.query(`SELECT 1 FROM deferred_object_deletes WHERE storage_key = $1`, [key])).length > 0;
  const readLink = async (fileId: string) => {
    const { url } = await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token);
    const res = await fetch(url as string);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };

  /** A replica whose copies are held, once written, until `release` opens; `copying` opens when one starts. */
  function heldReplica() {
    const release = gate();
    const copying = gate();
    let key = '';
    const store = holdingCopies(server.deps.store, () => release.opened, (to) => {
      key = to;
      copying.open();
    });
    return { sealing: createBlobSealing({ ...server.deps, store }), release, copying, key: () => key };
  }

  it('holds no pool connection while it copies: three sealings on a pool of two leave queries served, and the GC leaves the copies alone', async () => {
    const contents = [randomBytes(3000), randomBytes(4000), randomBytes(5000)];
    await withUnhashed(contents, async (blobs) => {
      const db = createPgDb(server.deps.config.databaseUrl, { max: 2 });
      const release = gate();
      const allCopying = gate();
      const copying: string[] = [];
      const store = holdingCopies(server.deps.store, () => release.opened, (to) => {
        copying.push(to);
        if (copying.length === blobs.length) allCopying.open();
      });
      const sealing = createBlobSealing({ ...server.deps, db, store });
      const seals = blobs.map((b) => sealing.seal(b));
      try {
        // A copy inside a transaction holds a connection: the third sealing would wait for one, and so would any query.
        await within(allCopying.opened, 10_000, 'all three copies started');
        expect(await within(db.query<{ one: number }>(`SELECT 1 AS one`), 2000, 'a query while three copies run')).toEqual([{ one: 1 }]);
        // Written, not linked yet: reserved from the GC, whatever its grace.
        await server.services.gc.run({ graceSeconds: 0 });
        for (const key of copying) expect(await server.deps.store.head(key)).not.toBeNull();
      } finally {
        release.open();
        await Promise.allSettled(seals);
        await db.close();
      }
      await Promise.all(seals);
      for (const [i, b] of blobs.entries()) {
        const row = await blobRow(b.sha256);
        expect(row.client_writable).toBe(false);
        expect(copying).toContain(row.storage_key);
        expect(await reserved(row.storage_key)).toBe(false);
        expect(await server.deps.store.head(b.storage_key)).toBeNull();
        expect(await readLink(b.fileId)).toEqual({ status: 200, body: contents[i] });
      }
    });
  });

  it('a second replica waits on a fresh claim instead of copying, and both link the first one\'s copy', async () => {
    const content = randomBytes(7000);
    await withUnhashed([content], async ([blob]) => {
      const a = heldReplica();
      const copiesB: string[] = [];
      const b = createBlobSealing({ ...server.deps, store: holdingCopies(server.deps.store, async () => {}, (to) => copiesB.push(to)) });
      const sealA = a.sealing.seal(blob!);
      let sealB: Promise<void> | undefined;
      try {
        await within(a.copying.opened, 10_000, 'replica A copying');
        sealB = b.seal(blob!);
        // B looks several times meanwhile (its waits start at 50 ms).
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(copiesB).toEqual([]);
        a.release.open();
        await within(Promise.all([sealA, sealB]), 10_000, 'both sealings');
      } finally {
        a.release.open();
        await Promise.allSettled([sealA, sealB]);
      }
      expect(copiesB).toEqual([]);
      expect(await blobRow(blob!.sha256)).toEqual({ storage_key: a.key(), client_writable: false });
      expect(await readLink(blob!.fileId)).toEqual({ status: 200, body: content });
    });
  });

  it('a replica that looks while the first one links copies nothing: the link lands between its two reads', async () => {
    const content = randomBytes(5000);
    await withUnhashed([content], async ([blob]) => {
      const a = heldReplica();
      const copiesB: string[] = [];
      const sealA = a.sealing.seal(blob!);
      // B's claim, after its first read under the lock, waits for A to finish: A's link commits in between.
      let linkLanded = false;
      const db: typeof server.deps.db = {
        ...server.deps.db,
        transaction: (fn) =>
          server.deps.db.transaction((tx) => {
            let statements = 0;
            return fn({
              ...tx,
              async query(sql, params) {
                const rows = await tx.query(sql, params);
                if (++statements === 2 && !linkLanded) {
                  linkLanded = true;
                  a.release.open();
                  await within(sealA, 10_000, 'replica A linking');
                }
                return rows as never;
              },
            });
          }),
      };
      const b = createBlobSealing({ ...server.deps, db, store: holdingCopies(server.deps.store, async () => {}, (to) => copiesB.push(to)) });
      try {
        await within(a.copying.opened, 10_000, 'replica A copying');
        await within(b.seal(blob!), 10_000, 'replica B sealing');
      } finally {
        a.release.open();
        await Promise.allSettled([sealA]);
      }
      expect(linkLanded).toBe(true);
      expect(copiesB).toEqual([]);
      expect(await blobRow(blob!.sha256)).toEqual({ storage_key: a.key(), client_writable: false });
      expect(await readLink(blob!.fileId)).toEqual({ status: 200, body: content });
    });
  });

  it.each([
    ['the stalled replica finishes last and loses', 'last'],
    ['the stalled replica finishes first and wins', 'first'],
  ] as const)('two replicas that both copy one blob (%s): one sealed copy, the other dropped, links work', async (_, stalledFinishes) => {
    const content = randomBytes(6000);
    await withUnhashed([content], async ([blob]) => {
      // Replica A copies and stalls (its heartbeat lost, say): B finds A's claim stale and copies too.
      const [a, b] = [heldReplica(), heldReplica()];
      const sealA = a.sealing.seal(blob!);
      let sealB: Promise<void> | undefined;
      try {
        await within(a.copying.opened, 10_000, 'replica A copying');
        expect(await reserved(a.key())).toBe(true);
        // As if A's claim was last touched a day minus a few minutes ago (reservations last a day).
        await server.deps.db.query(`UPDATE deferred_object_deletes SET delete_after = now() + interval '1 hour' WHERE storage_key = $1`, [a.key()]);
        sealB = b.sealing.seal(blob!);
        await within(b.copying.opened, 10_000, 'replica B copying while A\'s claim is stale');
        const [first, second] = stalledFinishes === 'first' ? [a.release, b.release] : [b.release, a.release];
        first.open();
        await within(stalledFinishes === 'first' ? sealA : sealB, 10_000, 'the first replica sealing');
        second.open();
        await within(Promise.all([sealA, sealB]), 10_000, 'both sealings');
      } finally {
        a.release.open();
        b.release.open();
        await Promise.allSettled([sealA, sealB]);
      }
      const [winner, loser] = stalledFinishes === 'first' ? [a.key(), b.key()] : [b.key(), a.key()];
      const row = await blobRow(blob!.sha256);
      expect(row).toEqual({ storage_key: winner, client_writable: false });
      expect(await server.deps.store.head(winner)).not.toBeNull();
      // The loser's copy is gone, and not reserved: nothing of it is left for anyone.
      expect(await server.deps.store.head(loser)).toBeNull();
      expect(await reserved(loser)).toBe(false);
      expect(await reserved(winner)).toBe(false);
      expect(await server.deps.store.head(blob!.storage_key)).toBeNull();
      // Both callers read the blob again and link its one sealed copy.
      expect(await readLink(blob!.fileId)).toEqual({ status: 200, body: content });
    });
  });
});
