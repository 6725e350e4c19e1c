/**
 * Test support: a local BlobStore in a temp dir with its signed-URL routes served on 127.0.0.1:0, so
 * tests reach part and download URLs with a real fetch. The error middleware renders AppError the way
 * the app's does ({code, message}, status, headers).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAppError } from '../shared/errors';
import { createUrlSigner } from '../shared/url-signer';
import type { BlobStore } from './blob-store';
import { createLocalBlobRouter } from './local-blob.routes';
import { createLocalBlobStore } from './local.blob-store';

export interface LocalBlobTestServer {
  store: BlobStore;
  root: string;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startLocalBlobTestServer(options: { maxPartSize?: number } = {}): Promise<LocalBlobTestServer> {
  const root = await mkdtemp(path.join(tmpdir(), 'openpds-blobs-'));
  const app = express();
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signer = createUrlSigner({ secret: 'test-secret-for-local-blob-urls-0123456789', baseUrl });
  const store = createLocalBlobStore({ root, signer });
  app.use(createLocalBlobRouter({ store, signer, maxPartSize: options.maxPartSize ?? 64 * 1024 ** 2 }));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!isAppError(error)) {
      res.status(500).json({ code: 'InternalError', message: String(error) });
      return;
    }
    res.status(error.status).set(error.options.headers ?? {}).json({ code: error.code, message: error.message });
  });
  return {
    store,
    root,
    baseUrl,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}
