/**
 * The running data plane's hold on its store's claim (storage-claim.ts): taken at start, checked again by
 * every GC run, and remembered so /readyz fails and the API answers 503 while the store is not known to be
 * this instance's: refused (another instance holds it), or not checked yet (the store or database could
 * not be reached; retried with backoff, as /readyz would be polled). Logs each outcome once.
 *
 * An error no retry can cure (the S3 client refusing a setting before it sends anything: a malformed
 * endpoint, a region or bucket name it cannot put in a URL) is no outage: retried, it looked like one for
 * ever (every call 503, red team F2). It becomes a StoreSettingError, a StorageClaimError, so `serve` ends
 * its start with it as with a refusal, and a retry already running stops.
 */
import type { Logger } from 'pino';
import { claimStore, CLAIM_KEY, StorageClaimError, type ClaimMode, type StorageClaimDeps } from './storage-claim';

/**
 * The store cannot be used with these settings. A StorageClaimError because that is what `serve` (main.ts)
 * ends its start on; its reason is `Unreadable` as the claim cannot be read at all, and its name gives the
 * start's fatal line the code `StoreSetting.Unreadable`.
 */
export class StoreSettingError extends StorageClaimError {
  override name = 'StoreSettingError';
  constructor(storeName: string, cause: Error) {
    super('Unreadable', `the blob store ${storeName} cannot be used with these settings (check OPENPDS_S3_ENDPOINT, OPENPDS_S3_REGION, OPENPDS_S3_BUCKET): ${cause.message}`);
    this.cause = cause;
  }
}

/**
 * Errors the same settings give on every attempt, thrown by the client before any request leaves: Node's
 * URL parser, and the AWS SDK's region and bucket-name checks (@smithy/core checkRegion,
 * @aws-sdk/middleware-sdk-s3 validateBucketName). Anything else may be an outage and is retried.
 */
export function isStoreSettingError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_INVALID_URL' || error.name === 'InvalidBucketName' || error.message.startsWith('Region not accepted:');
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export interface StorageClaimProblem {
  code: 'ServiceUnavailable.StorageClaimed' | 'ServiceUnavailable.StorageClaimUnchecked';
  message: string;
}

export interface StorageClaimGuard {
  /** Takes or confirms the claim; throws StorageClaimError (and remembers it) when refused. */
  acquire(mode: ClaimMode): Promise<void>;
  /** The GC's once-per-run re-check: never takes the store over. */
  verify(): Promise<void>;
  /** Why this data plane must not serve now; undefined while the store is its own. */
  problem(): StorageClaimProblem | undefined;
  /**
   * After a start whose check failed for want of the store or database: retries acquire(mode) with backoff
   * until the claim is held (then calls onHeld) or refused (then stays refused). Resolves on stop().
   */
  retryUntilDecided(mode: ClaimMode, onHeld: () => void): { stop(): Promise<void> };
}

export function createStorageClaimGuard(deps: StorageClaimDeps & { logger: Logger }): StorageClaimGuard {
  let problem: StorageClaimProblem | undefined = { code: 'ServiceUnavailable.StorageClaimUnchecked', message: 'the blob store claim is not checked yet' };
  const context = (extra: object = {}) => ({ storage_claim: { store: deps.storeName, key: CLAIM_KEY, ...extra } });

  async function acquire(mode: ClaimMode): Promise<void> {
    try {
      const { outcome, claim, previous } = await claimStore(deps, mode);
      if (problem?.code === 'ServiceUnavailable.StorageClaimed') deps.logger.warn(context({ instance_id: claim.instance_id }), "blob store claim is this instance's again");
      problem = undefined;
      if (outcome === 'claimed') deps.logger.info(context({ instance_id: claim.instance_id }), 'claimed an empty blob store for this instance');
      if (outcome === 'adopted') deps.logger.info(context({ instance_id: claim.instance_id }), 'claimed a blob store from before storage claims: this database knows its blobs');
      if (outcome === 'taken_over')
        deps.logger.warn(context({ instance_id: claim.instance_id, previous }), 'OPENPDS_STORAGE_CLAIM=takeover: claimed the blob store for this instance; set it back to check');
      else if (mode === 'takeover')
        deps.logger.warn(context({ instance_id: claim.instance_id }), "OPENPDS_STORAGE_CLAIM=takeover is set but the blob store is already this instance's: set it back to check");
    } catch (caught) {
      const error = isStoreSettingError(caught) ? new StoreSettingError(deps.storeName, caught) : caught;
      if (error instanceof StorageClaimError) {
        problem = { code: 'ServiceUnavailable.StorageClaimed', message: error.message };
        deps.logger.error(context({ reason: error.reason, holder: error.holder }), error.message);
      } else if (problem?.code !== 'ServiceUnavailable.StorageClaimed') {
        // A claim found refused stays so until a check says otherwise; an outage does not clear it.
        problem = { code: 'ServiceUnavailable.StorageClaimUnchecked', message: `the blob store claim could not be checked: ${(error as Error).message}` };
      }
      throw error;
    }
  }

  function retryUntilDecided(mode: ClaimMode, onHeld: () => void) {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let attempt: Promise<void> = Promise.resolve();
    const schedule = (delay: number) => {
      timer = setTimeout(() => {
        attempt = acquire(mode).then(
          () => void (stopped || onHeld()),
          (error: unknown) => {
            if (stopped || error instanceof StorageClaimError) return;
            deps.logger.warn(context({ err: error, retry_ms: delay }), 'could not check the blob store claim; retrying');
            schedule(Math.min(delay * 2, RETRY_MAX_MS));
          },
        );
      }, delay);
      timer.unref();
    };
    schedule(RETRY_FIRST_MS);
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await attempt;
      },
    };
  }

  /**
   * The GC's re-check. Only a refusal changes what the data plane answers: a store or database that fails
   * for a moment aborts that GC run (deleting nothing), but must not turn the whole API to 503 until the
   * next run, an hour later, when the claim was this instance's a moment ago.
   */
  async function verify(): Promise<void> {
    if (problem !== undefined) return acquire('check'); // not held (yet): a check that succeeds clears it
    try {
      await claimStore(deps, 'check');
    } catch (error) {
      if (error instanceof StorageClaimError) {
        problem = { code: 'ServiceUnavailable.StorageClaimed', message: error.message };
        deps.logger.error(context({ reason: error.reason, holder: error.holder }), error.message);
      }
      throw error;
    }
  }

  return { acquire, verify, problem: () => problem, retryUntilDecided };
}
