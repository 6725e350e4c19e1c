-- Objects that download links handed out earlier may still name. A signed or presigned URL names a storage
-- key and lives up to 32 h (get_download_url's expire_sec, or longer when OPENPDS_DOWNLOAD_URL_TTL says so);
-- when the hash job merges an upload onto the same bytes already stored, the upload's object stops being
-- any blob's but must keep answering those links. The job records it here, in the transaction that moves
-- the revisions, instead of deleting it; the blob GC deletes the row once delete_after has passed, then the
-- object. Until then the GC's orphan sweep counts the key as referenced.
CREATE TABLE deferred_object_deletes (
  storage_key  text PRIMARY KEY,
  delete_after timestamptz NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX deferred_object_deletes_due_idx ON deferred_object_deletes (delete_after);
