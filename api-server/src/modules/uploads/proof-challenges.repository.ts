/** Proof v2 challenges (migration 011): one per upload session, consumed by the first answer. */
import type { Queryable } from '../../db/db';

export interface ProofChallengeRow {
  upload_id: string;
  blob_sha256: string;
  nonce: string;
}

export function createProofChallengesRepository() {
  return {
    async insert(db: Queryable, c: ProofChallengeRow): Promise<void> {
      await db.query(`INSERT INTO upload_proof_challenges (upload_id, blob_sha256, nonce) VALUES ($1, $2, $3)`, [c.upload_id, c.blob_sha256, c.nonce]);
    },
    async get(db: Queryable, uploadId: string): Promise<ProofChallengeRow | undefined> {
      const [row] = await db.query<ProofChallengeRow>(`SELECT upload_id, blob_sha256, nonce FROM upload_proof_challenges WHERE upload_id = $1`, [uploadId]);
      return row;
    },
    /** Deletes and returns the session's challenge: whoever answers first uses it up, right or wrong. */
    async take(db: Queryable, uploadId: string): Promise<ProofChallengeRow | undefined> {
      const [row] = await db.query<ProofChallengeRow>(`DELETE FROM upload_proof_challenges WHERE upload_id = $1 RETURNING upload_id, blob_sha256, nonce`, [uploadId]);
      return row;
    },
  };
}
