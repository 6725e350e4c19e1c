import { createHash, randomBytes } from 'node:crypto';
import { hashContent } from './content-hasher';

async function* chunked(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const expected = (b: Buffer) => ({
  sha1: createHash('sha1').update(b).digest('hex'),
  sha256: createHash('sha256').update(b).digest('hex'),
  preHash: createHash('sha1').update(b.subarray(0, 1024)).digest('hex'),
  size: b.length,
});

describe('hashContent', () => {
  it.each([
    ['chunks smaller than the pre-hash window', 5000, 333],
    ['one chunk', 70_000, 70_000],
    ['large chunks', 3_000_001, 65_536],
  ])('hashes %s', async (_label, length, chunk) => {
    const b = randomBytes(length);
    expect(await hashContent(chunked(b, chunk))).toEqual(expected(b));
  });

  it('hashes empty content', async () => {
    expect(await hashContent(chunked(Buffer.alloc(0), 10))).toEqual(expected(Buffer.alloc(0)));
  });
});
