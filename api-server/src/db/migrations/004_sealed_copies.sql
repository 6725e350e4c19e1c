-- A one-part upload is one PUT of the whole object to blobs/<upload id> through a presigned (S3) or
-- signed (local disk) URL, and such a URL keeps working until it expires, after file/complete too: its
-- holder could replace the bytes under a blob that deduplication or rapid upload let other users share.
-- So content is never hashed or shared at that key: the hash job (or file/complete, when it hashes) first
-- copies the object to '<key>-sealed', a key no URL is ever issued for, and hashes and links that copy.
-- client_writable marks a blob whose storage_key is still such an upload key (a placeholder waiting for
-- the hash job); it is never the address of hashed content.
ALTER TABLE blobs ADD COLUMN client_writable boolean NOT NULL DEFAULT false;
