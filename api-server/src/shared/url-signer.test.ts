import { createUrlSigner } from './url-signer';

// The signed local URLs (downloads and part uploads on local disk): what a holder of one link can and
// cannot make of it.
describe('url-signer', () => {
  let clock = 1_800_000_000_000;
  const signer = createUrlSigner({ secret: 'url:test-secret-0123456789-0123456789', baseUrl: 'http://files.example', now: () => clock });
  const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams);

  it('accepts its own URL until it expires', () => {
    const url = signer.sign('GET', '/blob', { key: 'blobs/a', name: 'Ünïcode & = ?.jpg' }, 60);
    expect(signer.verify('GET', '/blob', queryOf(url))).toBeNull();
    clock += 61_000;
    expect(signer.verify('GET', '/blob', queryOf(url))).toBe('expired');
  });

  it('refuses a changed key, method, path or an added parameter', () => {
    const query = queryOf(signer.sign('GET', '/blob', { key: 'blobs/a' }, 60));
    expect(signer.verify('GET', '/blob', { ...query, key: 'blobs/b' })).toBe('invalid');
    expect(signer.verify('PUT', '/blob', query)).toBe('invalid');
    expect(signer.verify('GET', '/other', query)).toBe('invalid');
    expect(signer.verify('GET', '/blob', { ...query, disposition: 'inline' })).toBe('invalid');
  });

  it('refuses a repeated parameter instead of leaving it unsigned', () => {
    const query = queryOf(signer.sign('GET', '/blob', { key: 'blobs/a' }, 60));
    expect(signer.verify('GET', '/blob', { ...query, etag: ['x', 'y'] })).toBe('invalid');
  });

  // The red team's forgery: a file name carrying "\n<param>=…" lines re-split into real parameters. With
  // the old `k=v` lines the signed text was the same and the forged URL named another user's object and
  // never expired.
  it('a value holding newlines and "k=v" text cannot be re-split into other parameters', () => {
    const name = 'x\nexpires=9999999999\nkey=blobs/bob\nname=stolen.txt';
    const query = queryOf(signer.sign('GET', '/blob', { disposition: 'attachment', key: 'blobs/alice', name, type: 'image/jpeg' }, 60));
    expect(signer.verify('GET', '/blob', query)).toBeNull();
    const forged = {
      disposition: `attachment\nexpires=${query.expires}\nkey=blobs/alice\nname=x`,
      expires: '9999999999',
      key: 'blobs/bob',
      name: 'stolen.txt',
      type: 'image/jpeg',
      signature: query.signature!,
    };
    expect(signer.verify('GET', '/blob', forged)).toBe('invalid');
  });
});
