/**
 * The Revision object the revisions routes answer (revisions.service.ts toRevisionResponse), as PDS's
 * components.schemas.Revision; `is_latest` is the older name of is_latest_version, kept for the clients
 * that read it.
 */
import { z } from 'zod';
import { listResponse, timestampField } from '../../shared/rpc';

export const revisionResponseSchema = z
  .strictObject({
    domain_id: z.string(),
    drive_id: z.string(),
    file_id: z.string(),
    revision_id: z.string(),
    size: z.number().int(),
    content_hash: z.string(),
    content_hash_name: z.string(),
    is_latest: z.boolean(),
    is_latest_version: z.boolean(),
    creator_id: z.string(),
    created_at: timestampField,
  })
  .meta({ id: 'Revision', description: 'A revision of a file (PDS Revision)' });

export const revisionListSchema = listResponse('RevisionList', revisionResponseSchema);
