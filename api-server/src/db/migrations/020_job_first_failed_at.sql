-- Since when a job has been failing: set by its first failed attempt (of any cause), NULL until then and
-- again after `openpds jobs retry-failed`. An attempt lost to a store or database outage is given back only
-- while this is younger than a day (job-runner.ts OUTAGE_GIVE_BACK_SECONDS): a job whose own object always
-- answered S3 500/InternalError or timed out was otherwise retried every 5 minutes forever and never showed
-- as failed. created_at could not serve: a job queued again by retry-failed (or one that waited in a long
-- backlog) would count outage attempts from its first one, and a 10-minute outage would fail it again.
ALTER TABLE jobs ADD COLUMN first_failed_at timestamptz;
