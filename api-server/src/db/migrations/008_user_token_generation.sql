-- Access tokens carry their user's token_generation (claim `gen`) and every authenticated call compares it
-- with this column (auth.service.ts, confirm). Bumping it ends all of the user's access tokens at once, not
-- at expiry: on a new password (a thief's token dies with the old password) and on disabling (re-enabling
-- does not revive them). Tokens signed before this column carry no claim and count as generation 0.
ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0;
