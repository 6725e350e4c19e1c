/**
 * The one ETag of a revision's bytes, for every download path that this server answers for (file/download
 * streamed, and the local store's signed URL from get_download_url, which carries it signed). A revision
 * never changes its bytes, so its SHA-1 is a strong validator (RFC 9110 §8.8.1) that also survives the
 * object moving to another key when the hash job merges duplicates, which a store's own ETag does not.
 *
 * Content hashed in the background has no SHA-1 for a moment: the revision id names those bytes until it
 * has one. The ETag then changes once, which costs a client one full download instead of a 304 or a resume.
 * (S3 serves its presigned URLs itself, with its own ETag: see downloads.routes.ts.)
 */
export function revisionEtag(revision: { content_hash: string; revision_id: string }): string {
  return revision.content_hash || `r-${revision.revision_id}`;
}
