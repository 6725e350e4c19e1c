-- Fences a job's outcome by the claim it was run under. Every claim bumps `claims`; extending the lease,
-- finishing and failing match (job_id, claims), so a runner whose lease lapsed (a stalled store, a database
-- blip that ate its renewals) and whose job another runner claimed meanwhile changes nothing: before, its
-- late failure cleared the new holder's lease (a third runner started) and its success deleted the row.
-- `attempts` cannot be the fence: an attempt that failed because the store or database was unreachable is
-- given back (jobs.repository.ts fail), so it does not grow with every claim.
ALTER TABLE jobs ADD COLUMN claims integer NOT NULL DEFAULT 0;
