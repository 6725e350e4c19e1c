-- A new file's name is held from file/complete, not file/create: the file row is 'uploading' until then,
-- and neither the name checks (claim_file_name, findByName) nor file/list see it, so an upload abandoned
-- half way never blocks a name. Two uploads of one name under check_name_mode refuse both passed the
-- check at create and both completed (two live dup.txt), and a folder created meanwhile shared its name
-- with the file (red team). So the session keeps the mode asked at create, and file/complete checks the
-- name again under the name family's lock (complete_claim_name, called from its one statement).
--
-- Sessions opened before this migration had no check at complete: 'ignore' keeps that.
ALTER TABLE upload_sessions ADD COLUMN check_name_mode text NOT NULL DEFAULT 'ignore'
  CHECK (check_name_mode IN ('ignore', 'auto_rename', 'refuse', 'overwrite'));

-- files/names.ts nameFamily, in SQL, for the lock key the services compute as
-- '<drive>/<parent>/<family>' (nameLockKey): the name with its extension apart (from the last dot, unless
-- that is the first character) and every trailing (n) dropped. [0-9]: JavaScript's \d (no u flag).
-- A test (test/api/upload-name-at-complete) checks it against nameFamily.
CREATE FUNCTION file_name_family(p_name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN dot > 1
    THEN regexp_replace(left(p_name, dot - 1), '(\([0-9]+\))+$', '') || '/' || substr(p_name, dot)
    ELSE regexp_replace(p_name, '(\([0-9]+\))+$', '') || '/' END
  FROM (SELECT CASE WHEN strpos(p_name, '.') = 0 THEN 0 ELSE length(p_name) - strpos(reverse(p_name), '.') + 1 END AS dot) s
$$;

-- Called first in file/complete's statement (uploads.repository linkUpload), after the drive row's key
-- share lock: takes the name family's lock, then the file row (FOR NO KEY UPDATE, as a rename takes the
-- name lock before the row: the reverse deadlocked), and says what the completion may do.
--   verdict NULL (no row returned): the file is gone.
--   'ok', final_name: link, under final_name (the name asked, or for auto_rename and overwrite a free
--     `base(n).ext` when a live file took the name meanwhile; an overwrite of a file that was not there
--     at create cannot replace one that came later, so it is renamed rather than duplicated).
--   'refused': check_name_mode refuse and a live file or folder holds the name: nothing is linked.
-- A file already available (a new revision of it) or trashed holds no new name: 'ok' as it is. VOLATILE,
-- so each query inside sees what committed before the lock was granted (see claim_file_name, 003).
CREATE FUNCTION complete_claim_name(p_drive_id text, p_file_id text, p_upload_id text, OUT verdict text, OUT final_name text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  f record;
  mode text;
  locked_key text := NULL;
  base text;
  ext text;
  dot integer;
  n integer := 0;
BEGIN
  SELECT check_name_mode INTO mode FROM upload_sessions WHERE upload_id = p_upload_id;
  LOOP
    SELECT name, parent_file_id, status, trashed_at INTO f FROM files WHERE drive_id = p_drive_id AND file_id = p_file_id;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    IF coalesce(mode, 'ignore') = 'ignore' OR f.status <> 'uploading' OR f.trashed_at IS NOT NULL THEN
      PERFORM 1 FROM files WHERE drive_id = p_drive_id AND file_id = p_file_id FOR NO KEY UPDATE;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      verdict := 'ok';
      final_name := NULL;
      RETURN;
    END IF;
    IF locked_key IS DISTINCT FROM p_drive_id || '/' || f.parent_file_id || '/' || file_name_family(f.name) THEN
      locked_key := p_drive_id || '/' || f.parent_file_id || '/' || file_name_family(f.name);
      PERFORM pg_advisory_xact_lock(hashtext(locked_key));
    END IF;
    -- Renamed or moved while we waited: lock the new name's family (the old lock stays until commit).
    PERFORM 1 FROM files WHERE drive_id = p_drive_id AND file_id = p_file_id AND name = f.name AND parent_file_id = f.parent_file_id
      AND status = 'uploading' AND trashed_at IS NULL FOR NO KEY UPDATE;
    EXIT WHEN FOUND;
  END LOOP;
  final_name := f.name;
  verdict := 'ok';
  IF NOT EXISTS (SELECT 1 FROM files WHERE drive_id = p_drive_id AND parent_file_id = f.parent_file_id AND name = f.name
                   AND trashed_at IS NULL AND status = 'available' AND file_id <> p_file_id) THEN
    RETURN;
  END IF;
  IF mode = 'refuse' THEN
    verdict := 'refused';
    RETURN;
  END IF;
  -- files/names.ts nextFreeName: the first base(n).ext no live file holds.
  dot := CASE WHEN strpos(f.name, '.') = 0 THEN 0 ELSE length(f.name) - strpos(reverse(f.name), '.') + 1 END;
  IF dot > 1 THEN
    base := left(f.name, dot - 1);
    ext := substr(f.name, dot);
  ELSE
    base := f.name;
    ext := '';
  END IF;
  LOOP
    n := n + 1;
    final_name := base || '(' || n || ')' || ext;
    EXIT WHEN NOT EXISTS (SELECT 1 FROM files WHERE drive_id = p_drive_id AND parent_file_id = f.parent_file_id AND name = final_name
                            AND trashed_at IS NULL AND status = 'available');
  END LOOP;
END $$;
