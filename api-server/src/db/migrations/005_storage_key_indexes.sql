-- The GC's orphan sweep asks, for each page of up to 1,000 object keys under blobs/, which are still some
-- blob's storage_key or an unfinished upload's key (gc.repository referencedKeys). Without these indexes
-- each page was a sequential scan of both tables.
CREATE INDEX blobs_storage_key_idx ON blobs (storage_key);
CREATE INDEX upload_sessions_open_key_idx ON upload_sessions (storage_key) WHERE status <> 'completed';
