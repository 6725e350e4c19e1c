-- auto_rename could give a name longer than the 1024-byte limit (red team): numbering a 1024-byte name
-- gave a 1027-byte `…(1).txt`, which every other call refuses. files/names.ts numberedName now cuts the
-- base (at a character boundary, the extension kept) so that `base(n).ext` fits 1024 bytes; this is 016's
-- complete_claim_name numbering the same way at file/complete. As in names.ts, an extension that leaves
-- fewer than 19 bytes (the longest `(n)`, 18, and one byte of base) is cut as part of the base.
--
-- A cut name can be of another name family than the one locked (its base is shorter): creators of that
-- name take only its family's lock, so it is locked too and the name checked again under it, as
-- files.service freeName does. Lengths are octet_length: UTF-8 bytes, the database encoding.

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
  suffix text;
  budget integer;
  cut text;
  cut_key text;
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
  -- files/names.ts nextFreeName: the first base(n).ext no live file holds, cut to 1024 bytes (numberedName).
  dot := CASE WHEN strpos(from_name, '.') = 0 THEN 0 ELSE length(from_name) - strpos(reverse(from_name), '.') + 1 END;
  IF dot > 1 AND octet_length(substr(from_name, dot)) + 18 < 1024 THEN
    base := left(from_name, dot - 1);
    ext := substr(from_name, dot);
  ELSE
    base := from_name;
    ext := '';
  END IF;
  LOOP
    n := n + 1;
    suffix := '(' || n || ')';
    budget := 1024 - octet_length(suffix) - octet_length(ext);
    cut := base;
    IF octet_length(cut) > budget THEN
      cut := left(cut, budget); -- at least budget bytes: then a character at a time
      WHILE octet_length(cut) > budget LOOP
        cut := left(cut, -1);
      END LOOP;
    END IF;
    final_name := cut || suffix || ext;
    cut_key := p_drive_id || '/' || f.parent_file_id || '/' || file_name_family(final_name);
    IF cut_key <> locked_key THEN
      PERFORM pg_advisory_xact_lock(hashtext(cut_key));
    END IF;
    EXIT WHEN NOT EXISTS (SELECT 1 FROM files WHERE drive_id = p_drive_id AND parent_file_id = f.parent_file_id AND name = final_name
                            AND trashed_at IS NULL AND status = 'available');
  END LOOP;
END $$;
