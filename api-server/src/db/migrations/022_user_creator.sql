-- The user id of whoever created each user (PDS User.creator): '' for the superadmin the server bootstraps
-- and for users created before this column existed (who made them was not recorded). Kept as written when
-- the creator is deleted later, as PDS keeps a creator id: no foreign key. A constant default adds the
-- column without rewriting the table.
ALTER TABLE users ADD COLUMN creator text NOT NULL DEFAULT '';
