import { describeBlobStoreContract } from './blob-store.contract';
import { startLocalBlobTestServer } from './local-blob.test-server';

describeBlobStoreContract('local disk', () => startLocalBlobTestServer());
