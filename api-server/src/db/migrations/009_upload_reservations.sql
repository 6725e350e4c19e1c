-- Open upload sessions reserve their declared size against their drive's quota (drives.reserved_size), so
-- a drive cannot take more bytes in flight than it has room for: before this, each file/create compared
-- its size with used_size alone, and ten sessions of 1 MiB each opened on a drive with 1 MiB free.
-- A session reserves at insert (refused with OP001, the quota error, when used + reserved + size would
-- pass total_size; the row lock on the drive makes two concurrent creates see each other) and releases
-- when it is completed (the revision's own accounting counts the bytes from then on, in the same
-- statement: linkUpload), or deleted (discarded, collected by the GC, or its file or drive deleted).
-- Sessions without a declared size reserve nothing (see MAX_OPEN_UPLOADS_PER_DRIVE in uploads.repository.ts).
ALTER TABLE drives ADD COLUMN reserved_size bigint NOT NULL DEFAULT 0;

UPDATE drives d SET reserved_size = s.reserved
  FROM (SELECT drive_id, sum(size) AS reserved FROM upload_sessions WHERE status <> 'completed' AND size IS NOT NULL GROUP BY drive_id) s
  WHERE d.drive_id = s.drive_id;

CREATE FUNCTION upload_sessions_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before bigint := 0;
  after bigint := 0;
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status <> 'completed' THEN before := coalesce(OLD.size, 0); END IF;
  IF TG_OP <> 'DELETE' AND NEW.status <> 'completed' THEN after := coalesce(NEW.size, 0); END IF;
  IF after > before THEN
    UPDATE drives SET reserved_size = reserved_size + (after - before) WHERE drive_id = NEW.drive_id
      AND (total_size IS NULL OR used_size + reserved_size + (after - before) <= total_size);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'drive % quota exhausted (open uploads included)', NEW.drive_id USING ERRCODE = 'OP001';
    END IF;
  ELSIF after < before THEN
    UPDATE drives SET reserved_size = greatest(reserved_size - (before - after), 0) WHERE drive_id = OLD.drive_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER upload_sessions_reserve AFTER INSERT OR UPDATE OF status, size OR DELETE ON upload_sessions
  FOR EACH ROW EXECUTE FUNCTION upload_sessions_reserve();

-- Open sessions by drive: file/create counts them (MAX_OPEN_UPLOADS_PER_DRIVE).
CREATE INDEX upload_sessions_open_drive_idx ON upload_sessions (drive_id) WHERE status <> 'completed';

-- The part sizes file/create declared (part_info_list[].part_size), by part number (index 0 is part 1;
-- null where not declared; the column null when none was): every upload URL of such a part, at create and
-- at get_upload_url, signs that exact length.
ALTER TABLE upload_sessions ADD COLUMN part_sizes jsonb;
