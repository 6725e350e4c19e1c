-- Rapid upload proof v2 (api-server/src/modules/uploads/proof.ts): a server-chosen challenge for content
-- the caller cannot already read. Proof v1 (8 bytes at an offset the client knows before it answers) links
-- only the caller's own content since session 11; anyone else had to upload bytes the domain already holds.
-- A v2 file/create that finds the content stored elsewhere opens a normal upload session and records here a
-- random nonce and the blob it was issued for; file/complete then takes HMAC-SHA256(nonce, whole content),
-- which only someone holding every byte can compute. One answer per challenge: the row goes with the first
-- attempt, right or wrong, and with its session (cascade). No foreign key to blobs: a challenge must not
-- keep content from the GC; a blob collected meanwhile makes the answer "upload the parts".
CREATE TABLE upload_proof_challenges (
  upload_id    text PRIMARY KEY REFERENCES upload_sessions(upload_id) ON DELETE CASCADE,
  blob_sha256  text NOT NULL,
  nonce        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
