/**
 * The named dependencies services are built from. main.ts (and tests) wire real implementations;
 * modules never read process.env or hold module-level state.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import type { Db } from '../db/db';
import type { SchemaCheck } from '../db/migrate-schema-check';
import type { BlobStore } from '../storage/blob-store';
import type { StorageClaimGuard } from '../storage/storage-claim.guard';
import type { Clock } from './clock';
import type { IdGenerator } from './ids';
import type { Metrics } from './metrics';
import type { UrlSigner } from './url-signer';
import type { TokenSigner } from '../modules/auth/tokens';
import type { PasswordCheckSlots } from '../modules/auth/password-check-slots';

export interface Deps {
  config: Config;
  db: Db;
  store: BlobStore;
  clock: Clock;
  newId: IdGenerator;
  metrics: Metrics;
  logger: Logger;
  urlSigner: UrlSigner;
  tokens: TokenSigner;
  /**
   * The hold on the store's claim (main.ts takes it before serving). The GC re-checks it before deleting,
   * /readyz and the API fail while it is refused. Absent in tests that build their own deps.
   */
  storageClaim?: StorageClaimGuard;
  /**
   * Whether the database holds migrations this version does not know (main.ts decides at start): /readyz
   * and the API fail then, unless OPENPDS_ALLOW_NEWER_SCHEMA. Absent in tests that build their own deps.
   */
  schema?: SchemaCheck;
  /**
   * The process's password-check slots (password-check-slots.ts), shared by every argon2 hash and verify:
   * logins, password changes and resets, user creation. createServices makes them when absent.
   */
  passwordChecks?: PasswordCheckSlots;
  /** Check every answer against its route's response schema (rpc.ts): under the test runner only. */
  validateResponses?: boolean;
}
