/**
 * The raw-S3 baseline side: an @aws-sdk/client-s3 client on the same radosgw and bucket the API server
 * uses, configured like the server's (path style, checksums only where required, which radosgw needs),
 * plus clean-up between runs. radosgw only frees deleted objects' data in its GC (after 2 h by default),
 * and the memstore OSD of hack/start-radosgw.sh holds everything in RAM, so `reclaimS3` runs that GC now.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { requireEnv } from '../../test/support/test-db';
import { mapLimit } from './services';

const run = promisify(execFile);

export function rawS3(): { client: S3Client; bucket: string } {
  // Node 20 is supported by this SDK release; its notice about future releases is noise in the output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: requireEnv('OPENPDS_TEST_S3_ENDPOINT'),
    region: process.env.OPENPDS_TEST_S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: requireEnv('OPENPDS_TEST_S3_ACCESS_KEY_ID'), secretAccessKey: requireEnv('OPENPDS_TEST_S3_SECRET_ACCESS_KEY') },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { client, bucket: requireEnv('OPENPDS_TEST_S3_BUCKET') };
}

/** Deletes every object and aborts every multipart upload under `prefix`. */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    await mapLimit(keys, 16, (Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key })));
    deleted += keys.length;
    token = page.NextContinuationToken;
  } while (token);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  await mapLimit(uploads.Uploads ?? [], 8, (u) => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! })));
  return deleted;
}

function cephConf(): string | undefined {
  const dir = process.env.OPENPDS_BENCH_RADOSGW_DIR;
  const conf = dir ? path.join(dir, 'ceph', 'ceph.conf') : undefined;
  return conf && existsSync(conf) ? conf : undefined;
}

/** Runs radosgw's GC now so deleted objects leave the memstore; false when the cluster is not ours. */
export async function reclaimS3(): Promise<boolean> {
  const conf = cephConf();
  if (!conf) return false;
  await run('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { maxBuffer: 16 * 1024 * 1024 });
  return true;
}

/** The memstore OSD's capacity in bytes (from its ceph.conf), when known. */
export function memstoreBytes(): number | undefined {
  const conf = cephConf();
  const m = conf ? /memstore device bytes\s*=\s*(\d+)/.exec(readFileSync(conf, 'utf8')) : null;
  return m ? Number(m[1]) : undefined;
}
