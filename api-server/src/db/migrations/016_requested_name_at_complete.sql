-- auto_rename at file/complete renamed the name file/create had already renamed: with a.txt present, two
-- concurrent auto_rename uploads of a.txt were both named a(1).txt at create (neither is live until
-- complete), and the second completed as a(1)(1).txt, where file/create would give a(2).txt (review).
-- So the session keeps the name the client asked for at create, and complete_claim_name picks the next
-- free name from it, as files/names.ts nextFreeName does at create.
--
-- A client that renames its upload (file/update, file/move with a new name) asked for that name instead:
-- the trigger below forgets the one asked at create, and complete goes on from the current name. NULL
-- (sessions opened before this migration, or renamed since): from the current name, as 015 did.
ALTER TABLE upload_sessions ADD COLUMN requested_name text;

-- Row by row, only for a rename of a file still uploading (the WHEN clause costs nothing elsewhere; the
-- completion's own rename makes the file available in the same UPDATE, so it does not fire). The file
-- row is locked before its session here, the order complete (linkUpload), the GC and a delete of the
-- file take them in.
CREATE FUNCTION files_forget_requested_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE upload_sessions SET requested_name = NULL WHERE file_id = NEW.file_id AND requested_name IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER files_forget_requested_name AFTER UPDATE OF name ON files
  FOR EACH ROW WHEN (OLD.status = 'uploading' AND NEW.status = 'uploading' AND OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION files_forget_requested_name();

-- As 015's, but a name taken meanwhile under auto_rename or overwrite gives the first free base(n).ext
-- of the name asked at create (requested_name) when the client has not renamed the upload since, of the
-- current name otherwise. The name asked is read after the file row's lock: a rename that committed while
-- we waited has cleared it. It is in the current name's family whenever set (create names a file the
-- name asked or nextFreeName of it), so the family lock held covers every name picked; checked anyway.
CREATE OR REPLACE FUNCTION complete_claim_name(p_drive_id text, p_file_id text, p_upload_id text, OUT verdict text, OUT final_name text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  f record;
  mode text;
  locked_key text := NULL;
  requested text;
  from_name text;
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
  SELECT requested_name INTO requested FROM upload_sessions WHERE upload_id = p_upload_id;
  from_name := CASE WHEN requested IS NOT NULL AND file_name_family(requested) = file_name_family(f.name) THEN requested ELSE f.name END;
  -- files/names.ts nextFreeName: the first base(n).ext no live file holds.
  dot := CASE WHEN strpos(from_name, '.') = 0 THEN 0 ELSE length(from_name) - strpos(reverse(from_name), '.') + 1 END;
  IF dot > 1 THEN
    base := left(from_name, dot - 1);
    ext := substr(from_name, dot);
  ELSE
    base := from_name;
    ext := '';
  END IF;
  LOOP
    n := n + 1;
    final_name := base || '(' || n || ')' || ext;
    EXIT WHEN NOT EXISTS (SELECT 1 FROM files WHERE drive_id = p_drive_id AND parent_file_id = f.parent_file_id AND name = final_name
                            AND trashed_at IS NULL AND status = 'available');
  END LOOP;
END $$;
