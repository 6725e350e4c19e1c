/**
 * Which content types file/create and get_download_url take (RFC 9110 §8.3.1 media types, storage/
 * serve-object.ts isMediaType). End to end on both stores: test/api/download-content-type.int.test.ts.
 */
import { servedContentType } from '../../storage/serve-object';
import { mediaTypeField } from './media-type.field';

const takes = (value: string) => mediaTypeField.safeParse(value).success;

test('takes SP and HTAB as optional whitespace around ";"', () => {
  for (const value of ['', 'image/jpeg', 'text/plain; charset=utf-8', 'text/plain;\tcharset=utf-8', 'text/plain\t;\t charset=utf-8 ;\t', 'text/plain;charset=utf-8', 'text/plain; format="a b"', 'text/plain;'])
    expect([value, takes(value)]).toEqual([value, true]);
});

test('refuses what is not a media type: no "/", whitespace around "=", control characters, non-ASCII', () => {
  for (const value of ['jpg', 'charset = utf-8', 'text/plain; charset = utf-8', 'text/plain; charset =utf-8', 'text/plain; charset=\tutf-8', '\ttext/plain', 'text /plain', 'text/plain\r\nX-Injected: 1', 'text/plain;\vcharset=utf-8', 'text/plain; format="a\tb"', 'text/plain; x=\u20ac', `text/${'x'.repeat(300)}`])
    expect([value, takes(value)]).toEqual([value, false]);
});

test('a HTAB is served as SP (radosgw breaks its response on a HTAB in response-content-type)', () => {
  expect(servedContentType('text/plain\t;\tcharset=utf-8')).toBe('text/plain ; charset=utf-8');
});
