-- file/create in one round trip (was six: BEGIN, lock, name check, two inserts, COMMIT).
--
-- claim_file_name takes the name family's transaction lock (the same key as the services' lockName:
-- hashtext of '<drive>/<parent>/<family>') and then looks for a live file holding the name. It must be a
-- VOLATILE function: in READ COMMITTED each statement inside it takes a fresh snapshot, so the lookup sees
-- everything committed before the lock was granted. The same check written in the calling statement would
-- run on that statement's snapshot, taken before the lock wait, and could miss a name created meanwhile.
-- Called from a data-modifying CTE (uploads.repository openUpload), the lock lasts until that statement's
-- transaction ends, after its inserts.
CREATE FUNCTION claim_file_name(lock_key text, p_drive_id text, p_parent_id text, p_name text, p_check boolean)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  clash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(lock_key));
  IF NOT p_check THEN
    RETURN NULL;
  END IF;
  SELECT file_id INTO clash FROM files
   WHERE drive_id = p_drive_id AND parent_file_id = p_parent_id AND name = p_name AND trashed_at IS NULL AND status = 'available'
   LIMIT 1;
  RETURN clash;
END $$;
