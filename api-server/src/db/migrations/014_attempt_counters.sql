-- Attempt counters shared by every API replica on this database (api-server/src/shared/attempt-limits.ts):
-- failed logins per user and address, old_password guesses per user, proof v2 challenges per user. They
-- were counted in each process's memory, so a Deployment of N replicas (or an autoscaler adding them)
-- multiplied every limit by N, and a restart forgot them; and the login count was checked before the
-- password and raised after it, so a burst of parallel guesses all passed a check made before any of them
-- had failed. Now an attempt is counted first, in one statement, and refused when over the limit.
-- Fixed windows: a key counts from its first attempt until expires_at, then starts again at 1.
CREATE TABLE attempt_counters (
  key         text PRIMARY KEY,
  count       integer NOT NULL,
  expires_at  timestamptz(3) NOT NULL
);
-- The GC deletes what has expired (also refresh tokens past their expiry, which nothing deleted before).
CREATE INDEX attempt_counters_expiry_idx ON attempt_counters (expires_at);
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);
