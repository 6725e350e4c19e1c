import { contentDisposition } from './content-disposition';

test('ASCII fallback plus the exact UTF-8 name (RFC 6266 / 8187)', () => {
  expect(contentDisposition('attachment', 'Été "1" (2)*.jpg')).toBe(
    `attachment; filename="_t_ _1_ (2)*.jpg"; filename*=UTF-8''%C3%89t%C3%A9%20%221%22%20%282%29%2A.jpg`,
  );
});

test('no name, just the disposition', () => {
  expect(contentDisposition('inline')).toBe('inline');
});
