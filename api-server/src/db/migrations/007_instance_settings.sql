-- Facts about this database itself, one row per name. `instance_id` names this installation (every replica
-- and worker on this database shares it) in the blob store's claim object (storage/storage-claim.ts): a data
-- plane refuses a store another instance claims, since each one's blob GC deletes what its own database does
-- not know. Generated here, once, so it exists before anything can read it; a restored dump keeps it.
CREATE TABLE instance_settings (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
INSERT INTO instance_settings (name, value) VALUES ('instance_id', gen_random_uuid()::text);
