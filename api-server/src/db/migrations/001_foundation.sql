-- Foundation: domain, users, drives, content-addressed blobs, files, revisions, upload sessions, tokens.
-- Names use COLLATE "C" so ordering and keyset pagination are byte-wise and identical on PostgreSQL and PGlite.

CREATE TABLE domains (
  domain_id   text PRIMARY KEY,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE users (
  user_id          text PRIMARY KEY,
  domain_id        text NOT NULL REFERENCES domains(domain_id),
  user_name        text COLLATE "C" NOT NULL,
  nick_name        text NOT NULL DEFAULT '',
  email            text NOT NULL DEFAULT '',
  phone            text NOT NULL DEFAULT '',
  description      text NOT NULL DEFAULT '',
  avatar           text NOT NULL DEFAULT '',
  role             text NOT NULL DEFAULT 'user' CHECK (role IN ('superadmin', 'admin', 'user')),
  status           text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  password_hash    text,
  default_drive_id text,
  user_data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_name_key ON users (domain_id, lower(user_name));
CREATE INDEX users_list_idx ON users (domain_id, user_id);

CREATE TABLE refresh_tokens (
  token_hash  text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
  expires_at  timestamptz(3) NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE drives (
  drive_id     text PRIMARY KEY,
  domain_id    text NOT NULL REFERENCES domains(domain_id),
  drive_name   text NOT NULL,
  description  text NOT NULL DEFAULT '',
  owner_type   text NOT NULL DEFAULT 'user' CHECK (owner_type IN ('user', 'group')),
  owner_id     text NOT NULL,
  drive_type   text NOT NULL DEFAULT 'normal',
  status       text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  total_size   bigint CHECK (total_size IS NULL OR total_size >= 0),
  used_size    bigint NOT NULL DEFAULT 0,
  is_default   boolean NOT NULL DEFAULT false,
  created_by   text,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX drives_owner_idx ON drives (domain_id, owner_id, drive_id);
CREATE INDEX drives_list_idx ON drives (domain_id, drive_id);
CREATE UNIQUE INDEX drives_one_default_key ON drives (owner_id) WHERE is_default;

-- Content-addressed: one row per distinct content in the domain. ref_count is kept by triggers on
-- file_revisions and upload claims, so no code path can forget it; GC deletes a row only when it is 0.
CREATE TABLE blobs (
  sha256             text PRIMARY KEY,
  sha1               text NOT NULL,
  pre_hash           text NOT NULL,
  size               bigint NOT NULL,
  storage_key        text NOT NULL,
  ref_count          integer NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
  unreferenced_since timestamptz(3) DEFAULT now(),
  created_at         timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX blobs_sha1_idx ON blobs (sha1, size);
CREATE INDEX blobs_pre_hash_idx ON blobs (pre_hash, size);
CREATE INDEX blobs_gc_idx ON blobs (unreferenced_since) WHERE ref_count = 0;

CREATE TABLE files (
  file_id            text PRIMARY KEY,
  drive_id           text NOT NULL REFERENCES drives(drive_id) ON DELETE CASCADE,
  parent_file_id     text NOT NULL,
  name               text COLLATE "C" NOT NULL,
  type               text NOT NULL CHECK (type IN ('file', 'folder')),
  status             text NOT NULL DEFAULT 'available' CHECK (status IN ('uploading', 'available')),
  size               bigint NOT NULL DEFAULT 0,
  content_type       text NOT NULL DEFAULT '',
  category           text NOT NULL DEFAULT '',
  file_extension     text NOT NULL DEFAULT '',
  content_hash       text NOT NULL DEFAULT '',
  revision_id        text,
  description        text NOT NULL DEFAULT '',
  labels             jsonb NOT NULL DEFAULT '[]'::jsonb,
  user_meta          text NOT NULL DEFAULT '',
  starred            boolean NOT NULL DEFAULT false,
  hidden             boolean NOT NULL DEFAULT false,
  trashed_at         timestamptz(3),
  trash_root_id      text,
  local_created_at   timestamptz(3),
  local_modified_at  timestamptz(3),
  created_by         text,
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  updated_at         timestamptz(3) NOT NULL DEFAULT now()
);
-- Keyset pagination: one index per order_by, all with file_id as the tie-breaker.
CREATE INDEX files_by_name ON files (drive_id, parent_file_id, name, file_id) WHERE trashed_at IS NULL AND status = 'available';
CREATE INDEX files_by_updated ON files (drive_id, parent_file_id, updated_at, file_id) WHERE trashed_at IS NULL AND status = 'available';
CREATE INDEX files_by_created ON files (drive_id, parent_file_id, created_at, file_id) WHERE trashed_at IS NULL AND status = 'available';
CREATE INDEX files_by_size ON files (drive_id, parent_file_id, size, file_id) WHERE trashed_at IS NULL AND status = 'available';
CREATE INDEX files_trash_roots ON files (drive_id, trashed_at, file_id) WHERE trashed_at IS NOT NULL AND trash_root_id = file_id;
CREATE INDEX files_trash_members ON files (trash_root_id) WHERE trash_root_id IS NOT NULL;
CREATE INDEX files_content_hash ON files (content_hash) WHERE content_hash <> '';

CREATE TABLE file_revisions (
  revision_id  text PRIMARY KEY,
  file_id      text NOT NULL REFERENCES files(file_id) ON DELETE CASCADE,
  drive_id     text NOT NULL REFERENCES drives(drive_id) ON DELETE CASCADE,
  blob_sha256  text NOT NULL REFERENCES blobs(sha256),
  size         bigint NOT NULL,
  content_hash text NOT NULL,
  created_by   text,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX file_revisions_file_idx ON file_revisions (file_id, created_at, revision_id);
CREATE INDEX file_revisions_blob_idx ON file_revisions (blob_sha256);

CREATE TABLE upload_sessions (
  upload_id        text PRIMARY KEY,
  file_id          text NOT NULL REFERENCES files(file_id) ON DELETE CASCADE,
  drive_id         text NOT NULL REFERENCES drives(drive_id) ON DELETE CASCADE,
  storage_key      text NOT NULL,
  store_upload_id  text NOT NULL,
  size             bigint,
  part_count       integer NOT NULL,
  content_hash     text NOT NULL DEFAULT '',
  pre_hash         text NOT NULL DEFAULT '',
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completing', 'completed')),
  created_by       text,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX upload_sessions_file_idx ON upload_sessions (file_id);
CREATE INDEX upload_sessions_age_idx ON upload_sessions (updated_at) WHERE status <> 'completed';

-- Reference counting and quota accounting: every revision holds one reference to its blob and counts its
-- size against its drive. The quota check sits in the same UPDATE that takes the drive row lock, so two
-- concurrent uploads can never both pass it (custom SQLSTATE OP001 = quota exhausted).
CREATE FUNCTION file_revisions_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE sha256 = NEW.blob_sha256;
    UPDATE drives SET used_size = used_size + NEW.size WHERE drive_id = NEW.drive_id
      AND (total_size IS NULL OR used_size + NEW.size <= total_size);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'drive % quota exhausted', NEW.drive_id USING ERRCODE = 'OP001';
    END IF;
    RETURN NEW;
  END IF;
  UPDATE blobs SET ref_count = ref_count - 1,
    unreferenced_since = CASE WHEN ref_count = 1 THEN now() ELSE unreferenced_since END
    WHERE sha256 = OLD.blob_sha256;
  UPDATE drives SET used_size = GREATEST(used_size - OLD.size, 0) WHERE drive_id = OLD.drive_id;
  RETURN OLD;
END $$;
CREATE TRIGGER file_revisions_account AFTER INSERT OR DELETE ON file_revisions
  FOR EACH ROW EXECUTE FUNCTION file_revisions_account();
