/**
 * The contract against a real S3: the radosgw that `npm test` (hack/test.sh → hack/start-radosgw.sh)
 * starts and describes in OPENPDS_TEST_S3_*. Without it the suite fails loudly instead of skipping,
 * so a green run always means S3 was tested.
 */
import { randomBytes } from 'node:crypto';
import { describeBlobStoreContract } from './blob-store.contract';
import { createS3BlobStore } from './s3.blob-store';

const NAMES = ['ENDPOINT', 'REGION', 'BUCKET', 'ACCESS_KEY_ID', 'SECRET_ACCESS_KEY'].map((n) => `OPENPDS_TEST_S3_${n}`);
const missing = NAMES.filter((name) => !process.env[name]);

if (missing.length > 0) {
  test('S3 BlobStore contract needs a test S3', () => {
    throw new Error(
      `${missing.join(', ')} not set. Run the tests with \`npm test\` (it starts a throwaway radosgw), or start one ` +
        'yourself: hack/start-radosgw.sh /tmp/rgw && source /tmp/rgw/env (stop it with /tmp/rgw/stop).',
    );
  });
} else {
  const env = process.env as Record<string, string>;
  describeBlobStoreContract('S3 (radosgw)', async () => ({
    store: createS3BlobStore({
      endpoint: env.OPENPDS_TEST_S3_ENDPOINT,
      region: env.OPENPDS_TEST_S3_REGION!,
      bucket: env.OPENPDS_TEST_S3_BUCKET!,
      // A prefix per run, so concurrent runs against one radosgw never meet.
      prefix: `test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
      credentials: { accessKeyId: env.OPENPDS_TEST_S3_ACCESS_KEY_ID!, secretAccessKey: env.OPENPDS_TEST_S3_SECRET_ACCESS_KEY! },
    }),
    close: async () => {},
  }));
}
