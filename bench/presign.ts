/**
 * presign: the S3 blob store's presigned URLs (in-process SigV4, api-server/src/storage/s3-presigner.ts)
 * vs the SDK's getSignedUrl for the same client settings, keys and expiry. Each URL is awaited in turn, as
 * one request handler does; the three kinds the API hands out alternate (PutObject, UploadPart, GetObject
 * with a UTF-8 Content-Disposition), and ours and the SDK's alternate by round. Target ≤ 0.2×.
 * Presigning is local: no S3 or database is needed (the endpoint is never contacted).
 *
 *   npx tsx bench/presign.ts [--urls 10000] [--rounds 5]
 */
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { contentDisposition } from '../api-server/src/storage/content-disposition';
import { createS3BlobStore, type S3BlobStoreOptions } from '../api-server/src/storage/s3.blob-store';
import { intFlag } from './lib/args';
import { fmt, info, median, reportRatio, runBench, timed } from './lib/report';

const urls = Math.max(3, intFlag('urls', 10_000));
const rounds = Math.max(1, intFlag('rounds', 5));
const OPTIONS: S3BlobStoreOptions = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'openpds-bench',
  prefix: 'bench-presign/',
  forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDBENCHPRESIGN', secretAccessKey: 'bench-presign-secret-key-0123456789abcdef' },
};
const UPLOAD_ID = '2~aJz7Qx9vQm3bH1yTfWc4tLZkP0sNnRr';
const FILE_NAME = 'Été 2024 – 日本 (1).jpg';
const EXPIRES = 3600;
const keyOf = (i: number) => `blobs/${(i * 2654435761 % 2 ** 32).toString(16).padStart(8, '0')}/${i}`;

runBench('presign', async () => {
  const store = createS3BlobStore(OPTIONS);
  const client = new S3Client({ ...OPTIONS, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const fullKey = (i: number) => OPTIONS.prefix + keyOf(i);
  const Bucket = OPTIONS.bucket;

  // One of each kind the API hands out, in turn: PutObject, UploadPart, GetObject with a file name.
  const ourKinds = [
    (i: number) => store.objectUploadUrl!(keyOf(i), EXPIRES),
    (i: number) => store.partUploadUrl(keyOf(i), UPLOAD_ID, 1 + (i % 100), EXPIRES),
    (i: number) => store.downloadUrl(keyOf(i), { expiresInSeconds: EXPIRES, fileName: FILE_NAME, contentType: 'image/jpeg' }),
  ];
  const sdkKinds = [
    (i: number) => getSignedUrl(client, new PutObjectCommand({ Bucket, Key: fullKey(i) }), { expiresIn: EXPIRES }),
    (i: number) =>
      getSignedUrl(client, new UploadPartCommand({ Bucket, Key: fullKey(i), UploadId: UPLOAD_ID, PartNumber: 1 + (i % 100) }), { expiresIn: EXPIRES }),
    (i: number) => {
      const command = new GetObjectCommand({ Bucket, Key: fullKey(i), ResponseContentDisposition: contentDisposition('attachment', FILE_NAME), ResponseContentType: 'image/jpeg' });
      return getSignedUrl(client, command, { expiresIn: EXPIRES });
    },
  ];
  const ours = (i: number) => ourKinds[i % 3]!(i);
  const sdk = (i: number) => sdkKinds[i % 3]!(i);

  // Same URL from both (a cheap sanity check; s3-presigner.test.ts compares them properly), and warm-up.
  const [a, b] = [await ours(2), await sdk(2)];
  if (a.split('X-Amz-Date=')[0] !== b.split('X-Amz-Date=')[0]) throw new Error(`URLs differ:\n${a}\n${b}`);
  for (let i = 0; i < 1000; i++) {
    await ours(i);
    await sdk(i);
  }

  const perUrlUs = { ours: [] as number[], sdk: [] as number[] };
  const perRound = Math.ceil(urls / rounds);
  for (let r = 0; r < rounds; r++)
    for (const [side, presign] of [['ours', ours], ['sdk', sdk]] as const) {
      const { ms } = await timed(async () => {
        for (let i = 0; i < perRound; i++) await presign(i);
      });
      perUrlUs[side].push((ms * 1000) / perRound);
    }
  info(`${rounds} rounds of ${perRound} URLs each side; µs per URL by round: ours ${perUrlUs.ours.map((x) => fmt(x, 1)).join(' ')}, getSignedUrl ${perUrlUs.sdk.map((x) => fmt(x, 1)).join(' ')}`);
  reportRatio({
    name: 'presign in-process SigV4 vs getSignedUrl',
    figure: median(perUrlUs.ours),
    baseline: median(perUrlUs.sdk),
    unit: 'µs/URL',
    op: '<=',
    target: 0.2,
    baselineLabel: 'getSignedUrl',
  });
});
