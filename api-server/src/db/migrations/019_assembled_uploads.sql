-- Records that the store assembled a multipart upload's parts into the object at the session's
-- storage_key, and so that the store's multipart upload is gone. A file/complete refused after the
-- assembly (a name taken under refuse, no room) keeps the session open with that object (uploads.service
-- keep), and part URLs signed for it then point at nothing: file/get_upload_url answers 409
-- UploadAssembled instead. It signs URLs without asking the store, so the store cannot tell it; a column
-- costs it no extra round trip. Set right after the assembly, so a completion that crashed past it is
-- known too. Sessions opened before this migration read false (as before: URLs that no longer work).
-- A constant default: no table rewrite.
ALTER TABLE upload_sessions ADD COLUMN assembled boolean NOT NULL DEFAULT false;
