import { contentDisposition, parseRange } from './serve-blob';

describe('parseRange', () => {
  it.each([
    [undefined, 100, null],
    ['bytes=0-0', 100, { start: 0, end: 0 }],
    ['bytes=10-', 100, { start: 10, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=90-200', 100, { start: 90, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=5-4', 100, 'unsatisfiable'],
    ['bytes=0-1,5-6', 100, null],
    ['items=0-1', 100, null],
  ])('%s of %d bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('contentDisposition', () => {
  it('keeps an ASCII fallback and the UTF-8 name', () => {
    expect(contentDisposition('照片 "1".jpg')).toBe(`attachment; filename="__ _1_.jpg"; filename*=UTF-8''${encodeURIComponent('照片 "1".jpg')}`);
  });
});
