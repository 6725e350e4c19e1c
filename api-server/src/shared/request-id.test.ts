import { acceptRequestId } from './request-id';

describe('acceptRequestId', () => {
  const fresh = () => 'generated';

  it.each(['3f2b8c1e-9d4a-4c56-8e0f-1a2b3c4d5e6f', 'req-42', 'a', 'host:1234.5_x', 'A'.repeat(128)])('keeps the plain token %s', (id) => {
    expect(acceptRequestId(id, fresh)).toBe(id);
  });

  it.each([
    ['empty', ''],
    ['too long', 'A'.repeat(129)],
    ['a tab', 'abc\tdef'],
    ['a space', 'abc def'],
    ['a quote', 'x","level":60,"msg":"FORGED'],
    ['latin-1', 'a\u00e9\u00ffb'],
    ['a control character', 'abc\u0001def'],
    ['an escape sequence', '\u001b[31mRED'],
  ])('replaces an id with %s', (_what, id) => {
    expect(acceptRequestId(id, fresh)).toBe('generated');
  });

  it('generates one when there is no header, or several', () => {
    expect(acceptRequestId(undefined, fresh)).toBe('generated');
    expect(acceptRequestId(['a', 'b'], fresh)).toBe('generated');
    expect(acceptRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
