-- New revisions, and revisions the hash job moves to another blob, are counted once per statement (010 did
-- it for deletes). file_revisions_account counted each inserted row on its own: a folder copy of n files is
-- one INSERT … SELECT (files.repository copyRows), and it updated the drive row n times and each shared blob
-- row once per copy; in one transaction every update leaves a row version the next one walks past, so the
-- copy took O(n²) (bench/folder-copy.ts). moveRevisions (uploads.repository.ts) did the same to the blob
-- that many revisions of one content move to.
--
-- Now a statement trigger reads the inserted rows from a transition table and adds, per blob, the references
-- and, per drive, the bytes, checking the quota per drive for the statement as a whole: used_size +
-- reserved_size + the statement's bytes <= total_size, or OP001 (files.errors isQuotaError) and nothing of
-- the statement stays. A folder copy that does not fit is refused whole, as it already was through its
-- transaction, now without counting row by row up to the file that did not fit.
--
-- Order within one statement (linkUpload, uploads.repository.ts: the session's reservation must be released
-- before the revision's check, 010). A statement's AFTER triggers fire at its end in the order they were
-- queued: a row trigger's when its row changed, a statement trigger's when its table's part of the statement
-- has run (PostgreSQL 15 and PGlite alike; a statement trigger queued first fires before the row triggers
-- queued after it, test/api/revision-accounting.int.test.ts). linkUpload's revision is built from the blob,
-- which is built from the closed session's row: the session's row trigger (the release) is queued first.
--
-- Locks: blob rows in sha256 order, then drive rows in drive_id order, so two statements sharing blobs or
-- drives wait on each other rather than deadlock. FOR NO KEY UPDATE, the lock the UPDATEs take anyway, not
-- FOR UPDATE: the foreign-key checks of an insert take FOR KEY SHARE on its blobs row by row, in row order,
-- which FOR UPDATE waits for and FOR NO KEY UPDATE does not. With 010's FOR UPDATE a bulk delete holding one
-- blob and waiting for another's key-share lock met the insert's check of the first next: deadlock (40P01,
-- test/api/revision-accounting.int.test.ts). 010's delete trigger is replaced below with the weaker lock.

CREATE FUNCTION file_revisions_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  refused text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM added) THEN RETURN NULL; END IF;
  PERFORM 1 FROM blobs WHERE sha256 IN (SELECT blob_sha256 FROM added) ORDER BY sha256 FOR NO KEY UPDATE;
  UPDATE blobs b SET ref_count = b.ref_count + g.n, unreferenced_since = NULL
    FROM (SELECT blob_sha256, count(*)::integer AS n FROM added GROUP BY blob_sha256) g
    WHERE b.sha256 = g.blob_sha256;
  -- Locked before the check reads them: each statement of this function reads the latest committed rows
  -- (READ COMMITTED), and the lock keeps them so until the UPDATE below.
  PERFORM 1 FROM drives WHERE drive_id IN (SELECT drive_id FROM added) ORDER BY drive_id FOR NO KEY UPDATE;
  SELECT d.drive_id INTO refused
    FROM drives d JOIN (SELECT drive_id, sum(size) AS bytes FROM added GROUP BY drive_id) g ON g.drive_id = d.drive_id
    WHERE d.total_size IS NOT NULL AND d.used_size + d.reserved_size + g.bytes > d.total_size
    ORDER BY d.drive_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'drive % quota exhausted (open uploads included)', refused USING ERRCODE = 'OP001';
  END IF;
  UPDATE drives d SET used_size = d.used_size + g.bytes
    FROM (SELECT drive_id, sum(size) AS bytes FROM added GROUP BY drive_id) g
    WHERE d.drive_id = g.drive_id;
  RETURN NULL;
END $$;

-- UPDATE OF blob_sha256: the hash job moves references; size and quota stay where they are (002). A trigger
-- with transition tables cannot name columns, so this fires on every UPDATE of file_revisions (moveRevisions
-- is the only one) and counts, per blob, the rows that point at it after the statement less those before.
CREATE FUNCTION file_revisions_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM after_rows) THEN RETURN NULL; END IF;
  PERFORM 1 FROM blobs WHERE sha256 IN (
      SELECT blob_sha256 FROM (SELECT blob_sha256, 1 AS n FROM after_rows UNION ALL SELECT blob_sha256, -1 FROM before_rows) m
       GROUP BY blob_sha256 HAVING sum(n) <> 0)
    ORDER BY sha256 FOR NO KEY UPDATE;
  UPDATE blobs b SET ref_count = b.ref_count + g.n,
    unreferenced_since = CASE WHEN b.ref_count + g.n = 0 THEN now() WHEN g.n > 0 THEN NULL ELSE b.unreferenced_since END
    FROM (SELECT blob_sha256, sum(n)::integer AS n
            FROM (SELECT blob_sha256, 1 AS n FROM after_rows UNION ALL SELECT blob_sha256, -1 FROM before_rows) m
           GROUP BY blob_sha256 HAVING sum(n) <> 0) g
    WHERE b.sha256 = g.blob_sha256;
  RETURN NULL;
END $$;

DROP TRIGGER file_revisions_account ON file_revisions;
DROP FUNCTION file_revisions_account();
CREATE TRIGGER file_revisions_count AFTER INSERT ON file_revisions
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION file_revisions_count();
CREATE TRIGGER file_revisions_move AFTER UPDATE ON file_revisions
  REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows FOR EACH STATEMENT EXECUTE FUNCTION file_revisions_move();

-- 010's delete accounting, unchanged but for the lock strength (see above).
CREATE OR REPLACE FUNCTION file_revisions_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Cascades fire this once per deleted file, mostly with nothing left to delete: those return at once.
  IF NOT EXISTS (SELECT 1 FROM gone) THEN RETURN NULL; END IF;
  PERFORM 1 FROM blobs WHERE sha256 IN (SELECT blob_sha256 FROM gone) ORDER BY sha256 FOR NO KEY UPDATE;
  UPDATE blobs b SET ref_count = b.ref_count - g.n,
    unreferenced_since = CASE WHEN b.ref_count = g.n THEN now() ELSE b.unreferenced_since END
    FROM (SELECT blob_sha256, count(*)::integer AS n FROM gone GROUP BY blob_sha256) g
    WHERE b.sha256 = g.blob_sha256;
  UPDATE drives d SET used_size = greatest(d.used_size - g.bytes, 0)
    FROM (SELECT drive_id, sum(size) AS bytes FROM gone GROUP BY drive_id) g
    WHERE d.drive_id = g.drive_id;
  RETURN NULL;
END $$;
