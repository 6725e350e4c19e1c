/**
 * The shapes file/create takes and answers, and the background hashing an uploads service is given. Apart
 * from the service so each of its files (upload-sessions.ts, upload-completion.ts, ...) can name them
 * without importing the service that wires them; uploads.service.ts exports them again.
 */
import type { FileRow } from '../files/files.repository';
import type { CheckNameMode } from '../files/files.service';
import type { BlobHashing } from './blob-hashing';

export interface CreateFileInput {
  drive_id: string;
  parent_file_id: string;
  name: string;
  check_name_mode: CheckNameMode;
  size?: number;
  content_type?: string;
  part_info_list?: { part_number: number; part_size?: number }[];
  pre_hash?: string;
  content_hash?: string;
  content_hash_name?: string;
  proof_code?: string;
  proof_version?: string;
  description?: string;
  hidden?: boolean;
  labels?: string[];
  user_meta?: string;
  local_created_at?: string;
  local_modified_at?: string;
  /** A new revision of this file (PDS CreateFile.file_id) instead of a new file: see revision-target.ts. */
  file_id?: string;
  /** With file_id: the parent_file_id the body named, if it named one (the file's own is then required). */
  asked_parent_file_id?: string;
}

export interface CreateFileResult {
  file: FileRow;
  exist: boolean;
  rapid_upload: boolean;
  upload_id: string;
  part_info_list: { part_number: number; upload_url: string; part_size?: number }[];
  /** Proof v2: answer it at file/complete instead of uploading the parts (see proof.ts). */
  proof_challenge?: { proof_version: 'v2'; algorithm: string; nonce: string };
}

export interface BackgroundHashing {
  hashing: BlobHashing;
  /** Called after a commit that enqueued hashing, so a runner in this process starts on it at once. */
  wake(): void;
  /** Called on each upload call: `serve`'s own runner lets young jobs wait while uploads keep coming. */
  noteUpload(): void;
}
