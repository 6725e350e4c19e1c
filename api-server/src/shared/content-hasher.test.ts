import { createHash, randomBytes } from 'node:crypto';
import { createContentHasher } from './content-hasher';

async function* chunked(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('content hasher', () => {
  const hasher = createContentHasher();
  afterAll(() => hasher.close());
  const expected = (b: Buffer) => ({
    sha1: createHash('sha1').update(b).digest('hex'),
    sha256: createHash('sha256').update(b).digest('hex'),
    preHash: createHash('sha1').update(b.subarray(0, 1024)).digest('hex'),
    size: b.length,
  });

  it('hashes small content on this thread', async () => {
    const b = randomBytes(5000);
    expect(await hasher.hash(chunked(b, 333), b.length)).toEqual(expected(b));
  });

  it('hashes large content with the SHA-256 on a worker, chunks sliced from shared buffers included', async () => {
    const b = randomBytes(40 * 1024 * 1024);
    const [one, two] = await Promise.all([hasher.hash(chunked(b, 65_536), b.length), hasher.hash(chunked(b, 1_000_003), b.length)]);
    expect(one).toEqual(expected(b));
    expect(two).toEqual(expected(b));
  });

  it('a source that fails mid-way rejects and leaves the hasher usable', async () => {
    async function* failing() {
      yield randomBytes(40 * 1024 * 1024);
      throw new Error('store went away');
    }
    await expect(hasher.hash(failing(), 80 * 1024 * 1024)).rejects.toThrow('store went away');
    const b = randomBytes(33 * 1024 * 1024);
    expect(await hasher.hash(chunked(b, 1 << 20), b.length)).toEqual(expected(b));
  });

  it('hashes empty content', async () => {
    expect(await hasher.hash(chunked(Buffer.alloc(0), 10), 0)).toEqual(expected(Buffer.alloc(0)));
  });
});
