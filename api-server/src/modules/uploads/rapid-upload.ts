/**
 * Rapid upload at file/create: content already stored is linked instead of uploaded, when the caller may
 * have it (tryRapid), or answered with a proof v2 challenge (proof.ts; file/complete checks the answer:
 * upload-completion.ts completeWithProof). Apart from the session code because who may link what is the
 * security-sensitive part of upload, and reads best on its own.
 */
import type { Queryable } from '../../db/db';
import type { AuthContext } from '../auth/auth.types';
import { adminScope } from '../drives/drive-access.sql';
import type { FileRow } from '../files/files.repository';
import { proofRange } from './proof';
import type { UploadsContext } from './upload-context';
import type { BlobRow } from './uploads.repository';
import type { CreateFileInput } from './uploads.types';

export function createRapidUpload(ctx: UploadsContext) {
  const { deps, files, repo, proofLimits, domainId } = ctx;

  /** True when the proof matches the stored bytes (8 bytes read with one range request). */
  async function proofMatches(blob: BlobRow, accessToken: string, proofCode: string): Promise<boolean> {
    const range = proofRange(accessToken, blob.size);
    if (!range) return proofCode === '';
    const stream = await deps.store.get(blob.storage_key, range);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('base64') === proofCode;
  }

  /**
   * Links stored content as a new revision of `file` (new or overwritten) and makes it available. The
   * revision goes last: its trigger takes the drive's row lock (quota), which every upload to the drive
   * waits on, so it is held only for this statement and the commit.
   */
  async function linkContent(tx: Queryable, auth: AuthContext, file: Pick<FileRow, 'file_id' | 'drive_id'>, blob: BlobRow): Promise<FileRow> {
    const revisionId = deps.newId();
    const linked = (await files.repo.update(tx, file.drive_id, file.file_id, { status: 'available', size: blob.size, content_hash: blob.sha1, revision_id: revisionId }))!;
    await repo.insertRevision(tx, { revision_id: revisionId, file_id: file.file_id, drive_id: file.drive_id, blob_sha256: blob.sha256, size: blob.size, content_hash: blob.sha1, created_by: auth.userId });
    return linked;
  }

  /**
   * Tries rapid upload. `link`: stored content to link at once; null when it does not apply (then a normal
   * session is opened). Only content the caller can already read is linked. Proof v1 alone never links
   * another user's content: 8 bytes at an offset the client sees before it answers were walked across a
   * file known only in part (red team; a token refresh gave a new offset). A proof v1 a holder sends is
   * still checked, as before. `challenge`: the content is stored but not the caller's, the client asked
   * for proof v2, the domain allows it (OPENPDS_RAPID_UPLOAD_PROOF_V2: off by default, since a challenge
   * confirms that someone in the domain holds that whole file) and the caller has challenges left
   * (proof-limits.ts): the session opened for it carries a challenge (proof.ts) that file/complete can
   * answer instead of uploading. Callers who upload anyway lose nothing but the transfer: the stored bytes are
   * deduplicated (at complete, or by the blob.hash job).
   */
  async function tryRapid(auth: AuthContext, input: CreateFileInput): Promise<{ link: BlobRow | null; challenge: BlobRow | null }> {
    const none = { link: null, challenge: null };
    if (!input.content_hash || input.size === undefined) return none;
    const sha1 = input.content_hash.toLowerCase();
    const blob = await repo.findBlobBySha1(deps.db, sha1, input.size);
    // Asked whether or not the content is stored: the same queries either way, so the time taken does not
    // tell a stored file from an unknown one either.
    const holds = await repo.callerHoldsContent(deps.db, { domainId, userId: auth.userId, scope: adminScope(auth), sha1, size: input.size });
    if (blob && !holds && input.proof_version === 'v2' && deps.config.rapidUploadProofV2) {
      const allowed = await proofLimits.takeChallenge(deps.db, auth.userId);
      deps.metrics.rapidUpload.inc({ result: allowed ? 'challenged' : 'challenge_limited' });
      return { link: null, challenge: allowed ? blob : null };
    }
    // Content the caller cannot read counts as a miss, stored or not: the API answers both alike (a normal
    // upload session), and /metrics is public, so a result of its own there told another user's whole
    // files apart from wrong guesses (red team, proof v2 off). proof_rejected is for a holder's bad proof.
    if (!blob || !holds) {
      deps.metrics.rapidUpload.inc({ result: 'miss' });
      return none;
    }
    const proven = input.proof_code !== undefined && input.proof_version === 'v1' ? await proofMatches(blob, auth.accessToken, input.proof_code) : true;
    deps.metrics.rapidUpload.inc({ result: proven ? 'hit' : 'proof_rejected' });
    return { link: proven ? blob : null, challenge: null };
  }

  return { tryRapid, linkContent };
}
