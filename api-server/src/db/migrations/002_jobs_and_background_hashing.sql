-- A durable job queue, and content hashing off the upload's critical path.
--
-- Jobs are rows: workers claim due ones with FOR UPDATE SKIP LOCKED and hold a lease (locked_until) while
-- they run, so a crashed worker's job is picked up again once its lease expires. A job that fails is
-- retried with backoff up to max_attempts, then kept as 'failed' for O&M to read (last_error).
CREATE TABLE jobs (
  job_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'failed')),
  run_at        timestamptz NOT NULL DEFAULT now(),
  locked_until  timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 8,
  last_error    text NOT NULL DEFAULT '',
  created_at    timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs (run_at, job_id) WHERE state = 'queued';

-- A blob whose content the client did not declare is linked at complete under a placeholder address
-- ('pending:<upload id>', hashed = false) and hashed by a job, which then moves its revisions to the real
-- SHA-256 address (merging with an already stored copy) and fills in the SHA-1 content_hash.
ALTER TABLE blobs ADD COLUMN hashed boolean NOT NULL DEFAULT true;

-- Moving a revision to another blob moves its reference; its size and quota stay where they are.
CREATE OR REPLACE FUNCTION file_revisions_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE sha256 = NEW.blob_sha256;
    UPDATE drives SET used_size = used_size + NEW.size WHERE drive_id = NEW.drive_id
      AND (total_size IS NULL OR used_size + NEW.size <= total_size);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'drive % quota exhausted', NEW.drive_id USING ERRCODE = 'OP001';
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.blob_sha256 IS DISTINCT FROM OLD.blob_sha256 THEN
      UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE sha256 = NEW.blob_sha256;
      UPDATE blobs SET ref_count = ref_count - 1,
        unreferenced_since = CASE WHEN ref_count = 1 THEN now() ELSE unreferenced_since END
        WHERE sha256 = OLD.blob_sha256;
    END IF;
    RETURN NEW;
  END IF;
  UPDATE blobs SET ref_count = ref_count - 1,
    unreferenced_since = CASE WHEN ref_count = 1 THEN now() ELSE unreferenced_since END
    WHERE sha256 = OLD.blob_sha256;
  UPDATE drives SET used_size = GREATEST(used_size - OLD.size, 0) WHERE drive_id = OLD.drive_id;
  RETURN OLD;
END $$;
DROP TRIGGER file_revisions_account ON file_revisions;
CREATE TRIGGER file_revisions_account AFTER INSERT OR DELETE OR UPDATE OF blob_sha256 ON file_revisions
  FOR EACH ROW EXECUTE FUNCTION file_revisions_account();
