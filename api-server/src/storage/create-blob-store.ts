/**
 * Picks the configured BlobStore. The S3 module (and with it the AWS SDK, ~100 modules) is required only
 * when S3 is configured, so the embedded local-disk default starts without loading it. Every store comes
 * back wrapped in countStorageErrors: this is the one place stores are built, so failures are counted once.
 */
import path from 'node:path';
import type { Counter } from 'prom-client';
import type { Config } from '../config/config';
import type { UrlSigner } from '../shared/url-signer';
import type { BlobStore } from './blob-store';
import { countStorageErrors } from './counted.blob-store';
import { createLocalBlobStore } from './local.blob-store';

type BlobStoreConfig = Pick<
  Config,
  | 'storage'
  | 'dataDir'
  | 'gcGraceSeconds'
  | 's3Endpoint'
  | 's3Region'
  | 's3Bucket'
  | 's3Prefix'
  | 's3ForcePathStyle'
  | 's3AccessKeyId'
  | 's3SecretAccessKey'
  | 's3ConnectTimeoutSeconds'
  | 's3IdleTimeoutSeconds'
>;

/** storageErrors: openpds_storage_errors_total (shared/metrics.ts createStorageErrorsCounter). */
export function createBlobStore(config: BlobStoreConfig, signer: UrlSigner, storageErrors: Counter<'operation' | 'store'>): BlobStore {
  return countStorageErrors(createConfiguredStore(config, signer), storageErrors);
}

/** Where the configured store is, for messages (the storage claim's). */
export function describeBlobStore(config: BlobStoreConfig): string {
  if (config.storage === 'local') return `${path.join(config.dataDir, 'blobs')} (local disk)`;
  const prefix = config.s3Prefix && !config.s3Prefix.endsWith('/') ? `${config.s3Prefix}/` : config.s3Prefix;
  return `s3://${config.s3Bucket}/${prefix}${config.s3Endpoint ? ` at ${config.s3Endpoint}` : ''}`;
}

function createConfiguredStore(config: BlobStoreConfig, signer: UrlSigner): BlobStore {
  if (config.storage === 'local') return createLocalBlobStore({ root: path.join(config.dataDir, 'blobs'), signer, tempMaxAgeMs: config.gcGraceSeconds * 1000 });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  const { createS3BlobStore } = require('./s3.blob-store') as typeof import('./s3.blob-store');
  return createS3BlobStore({
    endpoint: config.s3Endpoint || undefined,
    region: config.s3Region,
    bucket: config.s3Bucket,
    prefix: config.s3Prefix,
    forcePathStyle: config.s3ForcePathStyle,
    // Without keys the SDK's default chain applies (environment, web identity in Kubernetes, instance role).
    credentials: config.s3AccessKeyId
      ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey }
      : undefined,
    timeouts: { connectMs: config.s3ConnectTimeoutSeconds * 1000, idleMs: config.s3IdleTimeoutSeconds * 1000 },
  });
}
