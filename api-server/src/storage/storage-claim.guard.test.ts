import type { Logger } from 'pino';
import { fatalLogLine } from '../shared/fatal-log-line';
import type { BlobStore } from './blob-store';
import { StorageClaimError } from './storage-claim';
import { createStorageClaimGuard, isStoreSettingError, StoreSettingError } from './storage-claim.guard';

/** A guard over a database that knows its instance id and a store whose every read fails with `errors` in turn. */
function guardOver(errors: Error[]) {
  const reads: number[] = [];
  const store = {
    async get() {
      reads.push(Date.now());
      throw errors[Math.min(reads.length, errors.length) - 1];
    },
  } as unknown as BlobStore;
  const db = { query: async () => [{ value: 'instance-1' }], exec: async () => undefined };
  const logged: { level: string; msg: string }[] = [];
  const log = (level: string) => (_obj: unknown, msg: string) => void logged.push({ level, msg });
  const logger = { info: log('info'), warn: log('warn'), error: log('error') } as unknown as Logger;
  const guard = createStorageClaimGuard({ db, store, clock: { now: () => new Date(0) }, domainId: 'default', storeName: 's3://b/ at http://minio:9000', logger } as never);
  return { guard, reads, logged };
}

const invalidUrl = () => Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL', input: 'not a url' });
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });

describe('storage claim guard', () => {
  it('tells errors the same settings give every time from errors an outage gives', () => {
    const badBucket = Object.assign(new Error("Bucket name shouldn't contain '/', received 'a/b'"), { name: 'InvalidBucketName' });
    expect([invalidUrl(), badBucket, new Error('Region not accepted: region="us east" is not a valid hostname component.')].map(isStoreSettingError)).toEqual([true, true, true]);
    expect([refused(), new Error('socket hang up'), Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }), 'x'].map(isStoreSettingError)).toEqual([false, false, false, false]);
  });

  // With OPENPDS_S3_ENDPOINT=minio:9000 every attempt failed with ERR_INVALID_URL and was retried for ever,
  // the API answering 503 StorageClaimUnchecked as in an outage; `serve` ends its start on a StorageClaimError.
  it('ends the start on a store setting the client refuses, saying which store and why', async () => {
    const { guard, reads, logged } = guardOver([invalidUrl()]);
    const failed = guard.acquire('check');
    await expect(failed).rejects.toBeInstanceOf(StoreSettingError);
    await expect(failed).rejects.toBeInstanceOf(StorageClaimError);
    await expect(failed).rejects.toThrow('the blob store s3://b/ at http://minio:9000 cannot be used with these settings (check OPENPDS_S3_ENDPOINT, OPENPDS_S3_REGION, OPENPDS_S3_BUCKET): Invalid URL');
    expect(reads).toHaveLength(1);
    expect(guard.problem()).toMatchObject({ code: 'ServiceUnavailable.StorageClaimed' });
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    const error = await failed.catch((e: unknown) => e);
    expect(JSON.parse(fatalLogLine(error))).toMatchObject({ code: 'StoreSetting.Unreadable', msg: expect.stringContaining('openpds: invalid configuration: the blob store') });
  });

  it('still treats an unreachable store as an outage, and stops retrying once a setting error shows', async () => {
    const { guard, reads, logged } = guardOver([refused(), invalidUrl()]);
    await expect(guard.acquire('check')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(guard.problem()).toMatchObject({ code: 'ServiceUnavailable.StorageClaimUnchecked' });
    let held = false;
    const retry = guard.retryUntilDecided('check', () => (held = true));
    // The first retry runs after 1 s; a loaded machine may run it later, so it is waited for, not timed.
    for (const deadline = Date.now() + 10_000; reads.length < 2; await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (Date.now() > deadline) throw new Error(`the first retry did not run within 10 s (${reads.length} reads)`);
    }
    // What is checked here is that no retry comes after the setting error: nothing to wait for, so a fixed
    // wait past the moment a second one would have run (2 s after the first). Under load it can only miss
    // a wrong retry (run late), never fail a right guard.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await retry.stop();
    expect(reads).toHaveLength(2);
    expect(held).toBe(false);
    expect(guard.problem()).toMatchObject({ code: 'ServiceUnavailable.StorageClaimed', message: expect.stringContaining('cannot be used with these settings') });
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(0);
  });
});
