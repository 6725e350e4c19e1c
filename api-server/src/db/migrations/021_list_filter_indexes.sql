-- openpds:no-transaction
-- Built CONCURRENTLY, outside a transaction (migrate-no-transaction.ts): a plain CREATE INDEX holds a SHARE
-- lock on files for the whole build, which blocks every insert, update and delete of a file (uploads,
-- renames, trash) until the migration commits: 5.8 s at 2M rows, tens of seconds at 10M on real disks,
-- while the old pods of a rolling upgrade still serve and their writes hit statement_timeout. CONCURRENTLY
-- takes SHARE UPDATE EXCLUSIVE, which writes do not conflict with. IF NOT EXISTS and the runner's drop of an
-- INVALID leftover make a run after a crash midway safe. PGlite runs it without CONCURRENTLY (migrate.ts).
--
-- file/list's filters (PDS ListFile type, category, status; files.repository list).
--
-- files_by_category_name: a folder walker lists folders (type folder, matched as category '' AND type
-- 'folder': a folder's category is '', a file's never is) and a gallery lists one category, in name order
-- (the default). With only files_by_name, a page of 100 folders under a folder of 100,000 files read every
-- file's index entry and row to skip it, on every page. Here the category is an equality before the sort
-- key, so a page is `limit` entries whatever the folder holds, ASC or DESC. One index, for the default
-- order only: the other orders (updated_at, created_at, size) with a filter read their own index and skip
-- what does not match, or, where the planner finds few matches (folders), take these and sort them. Four
-- more indexes would tax every write of a file for a rarer listing.
CREATE INDEX CONCURRENTLY IF NOT EXISTS files_by_category_name ON files (drive_id, parent_file_id, category, name, file_id)
  WHERE trashed_at IS NULL AND status = 'available';

-- status uploading: the files of a folder still being uploaded are in none of the listing indexes (all
-- partial on status = 'available'); files_live_children would read every live child of the folder. This
-- one holds only rows being uploaded, a handful at any time, and is sorted in memory.
CREATE INDEX CONCURRENTLY IF NOT EXISTS files_uploading_children ON files (drive_id, parent_file_id)
  WHERE trashed_at IS NULL AND status = 'uploading';
