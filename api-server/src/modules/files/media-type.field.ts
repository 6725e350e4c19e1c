import { z } from 'zod';
import { isMediaType, MAX_MEDIA_TYPE_LENGTH } from '../../storage/serve-object';

/**
 * A content type a client gives (file/create content_type, get_download_url response_content_type): a
 * valid media type (storage/serve-object.ts isMediaType), or '' for "none given". It is sent back as a
 * response header on every download, so anything else is 400 InvalidParameter.<Field> here: stored, it
 * made the file undownloadable (500) or reached S3 as a header break (red team).
 */
export const mediaTypeField = z
  .string()
  .max(MAX_MEDIA_TYPE_LENGTH)
  .refine((v) => v === '' || isMediaType(v), 'must be a media type such as text/plain or text/plain; charset=utf-8 (printable ASCII: type/subtype, parameters name=value or name="value")');
