/**
 * What every part of the uploads service shares: its dependencies and the repositories and limits made
 * once per service. One object passed to each part's factory (upload-sessions.ts, upload-completion.ts,
 * rapid-upload.ts) instead of `this`, so a part's functions call each other as plain functions. The proof
 * limits count per process: they must be this one instance, never one per part.
 */
import type { Deps } from '../../shared/deps';
import type { DrivesService } from '../drives/drives.service';
import type { FilesService } from '../files/files.service';
import { createDeferredDeletesRepository } from '../gc/deferred-deletes.repository';
import { createProofChallengesRepository } from './proof-challenges.repository';
import { createProofLimits } from './proof-limits';
import { createUploadsRepository, type UploadSessionRow } from './uploads.repository';
import type { BackgroundHashing } from './uploads.types';

/** Proof v2 answers checked at once per process (each reads a stored copy whole); the rest wait their turn. */
const PROOF_V2_CONCURRENT_CHECKS = 2;

export type UploadsDeps = Pick<Deps, 'db' | 'store' | 'newId' | 'config' | 'metrics' | 'logger' | 'clock'>;

export function createUploadsContext(deps: UploadsDeps, drives: DrivesService, files: FilesService, background: BackgroundHashing) {
  const repo = createUploadsRepository();
  const deferred = createDeferredDeletesRepository();
  const challenges = createProofChallengesRepository();
  const proofLimits = createProofLimits({ challengesPerWindow: deps.config.rapidUploadChallengesPerHour, windowMs: 3_600_000, concurrentChecks: PROOF_V2_CONCURRENT_CHECKS, now: () => deps.clock.now() });
  const domainId = deps.config.domainId;
  return { deps, drives, files, background, repo, deferred, challenges, proofLimits, domainId };
}
export type UploadsContext = ReturnType<typeof createUploadsContext>;

/**
 * A one-part upload on a store that signs whole-object PUTs (S3) skips multipart: no multipart upload to
 * open, list and assemble (three store round trips of the four a small file cost). Its session has no
 * store upload id; the object appears whole or not at all when the client's PUT ends.
 */
export const isSinglePut = (session: Pick<UploadSessionRow, 'store_upload_id'>) => session.store_upload_id === '';
