-- Two gaps in the quota accounting of 001, 002 and 009.
--
-- 1. Every new revision counts open uploads' reservations. file_revisions_account compared used_size + size
-- with total_size alone, so a folder copy, a rapid upload or an overwrite could take the room an open upload
-- had reserved (migration 009), and that upload then failed at file/complete with its bytes already stored.
-- The check is now used_size + reserved_size + size. A completing upload's own reservation must not count
-- against its own revision: linkUpload (uploads.repository.ts) closes the session, which releases it, and
-- inserts the revision in one statement. AFTER ROW triggers run in the order their rows changed, and the
-- session's row changes first (the revision is built from the blob the session's row feeds), so the release
-- always comes before the check: an upload whose reservation covers its bytes completes on a drive otherwise
-- full to the byte (test/api/quota-reservations-shared.int.test.ts checks that order).
--
-- 2. Bulk deletes update each drive and each blob once per statement, not once per row. The row triggers
-- updated the drive row (and each blob row) once per deleted revision or session; in one transaction every
-- update leaves a row version the next one walks past, so deleting n revisions of one drive, or n copies of
-- one blob, took O(n²) (PostgreSQL: a trash purge of 10k files 3.4-6.2 s, 4k copies of one blob 8 s; PGlite
-- 16 s; bench/drive-delete.ts). Deletes now fire statement triggers that
-- read the deleted rows from a transition table (REFERENCING OLD TABLE, also on PGlite) and aggregate per
-- drive and per blob. Inserts and updates stay per row: the quota check must refuse the one row that does
-- not fit (OP001). A foreign-key cascade deletes revisions one file at a time (one query per file, each
-- firing the statement trigger for one row), so the bulk paths delete a subtree's revisions and sessions
-- themselves, in the statement that deletes its files (files.repository deleteTrashed and deleteSubtree,
-- drives.repository delete); the cascades then find nothing left.

CREATE OR REPLACE FUNCTION file_revisions_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE sha256 = NEW.blob_sha256;
    UPDATE drives SET used_size = used_size + NEW.size WHERE drive_id = NEW.drive_id
      AND (total_size IS NULL OR used_size + reserved_size + NEW.size <= total_size);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'drive % quota exhausted (open uploads included)', NEW.drive_id USING ERRCODE = 'OP001';
    END IF;
    RETURN NEW;
  END IF;
  -- UPDATE OF blob_sha256: the hash job moves the reference; size and quota stay where they are (002).
  IF NEW.blob_sha256 IS DISTINCT FROM OLD.blob_sha256 THEN
    UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE sha256 = NEW.blob_sha256;
    UPDATE blobs SET ref_count = ref_count - 1,
      unreferenced_since = CASE WHEN ref_count = 1 THEN now() ELSE unreferenced_since END
      WHERE sha256 = OLD.blob_sha256;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER file_revisions_account ON file_revisions;
CREATE TRIGGER file_revisions_account AFTER INSERT OR UPDATE OF blob_sha256 ON file_revisions
  FOR EACH ROW EXECUTE FUNCTION file_revisions_account();

-- Blob rows are locked in sha256 order first: two bulk deletes sharing blobs then wait on each other rather
-- than deadlock (row by row, each locked them in its own delete order).
CREATE FUNCTION file_revisions_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Cascades fire this once per deleted file, mostly with nothing left to delete: those return at once.
  IF NOT EXISTS (SELECT 1 FROM gone) THEN RETURN NULL; END IF;
  PERFORM 1 FROM blobs WHERE sha256 IN (SELECT blob_sha256 FROM gone) ORDER BY sha256 FOR UPDATE;
  UPDATE blobs b SET ref_count = b.ref_count - g.n,
    unreferenced_since = CASE WHEN b.ref_count = g.n THEN now() ELSE b.unreferenced_since END
    FROM (SELECT blob_sha256, count(*)::integer AS n FROM gone GROUP BY blob_sha256) g
    WHERE b.sha256 = g.blob_sha256;
  UPDATE drives d SET used_size = greatest(d.used_size - g.bytes, 0)
    FROM (SELECT drive_id, sum(size) AS bytes FROM gone GROUP BY drive_id) g
    WHERE d.drive_id = g.drive_id;
  RETURN NULL;
END $$;
CREATE TRIGGER file_revisions_release AFTER DELETE ON file_revisions
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION file_revisions_release();

-- upload_sessions_reserve (009) keeps inserts and updates, row by row (a reservation that does not fit
-- refuses its own row); its DELETE branch is no longer reached.
DROP TRIGGER upload_sessions_reserve ON upload_sessions;
CREATE TRIGGER upload_sessions_reserve AFTER INSERT OR UPDATE OF status, size ON upload_sessions
  FOR EACH ROW EXECUTE FUNCTION upload_sessions_reserve();

CREATE FUNCTION upload_sessions_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM gone WHERE status <> 'completed' AND size IS NOT NULL) THEN RETURN NULL; END IF;
  UPDATE drives d SET reserved_size = greatest(d.reserved_size - g.bytes, 0)
    FROM (SELECT drive_id, sum(size) AS bytes FROM gone WHERE status <> 'completed' AND size IS NOT NULL GROUP BY drive_id) g
    WHERE d.drive_id = g.drive_id;
  RETURN NULL;
END $$;
CREATE TRIGGER upload_sessions_release AFTER DELETE ON upload_sessions
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION upload_sessions_release();
