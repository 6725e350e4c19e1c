import { describeName, nameFamily, nextFreeName, validateName } from './names';

describe('file names', () => {
  it.each([
    ['', 'must not be empty'],
    ['a/b', "must not contain '/'"],
    ['a\0b', 'must not contain NUL'],
    ['.', "must not be '.' or '..'"],
    ['..', "must not be '.' or '..'"],
    ['é'.repeat(513), 'at most 1024 bytes'],
  ])('refuses %j', (name, why) => {
    expect(() => validateName(name)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Name', status: 400, message: expect.stringContaining(why) }));
  });

  it('accepts 1024 bytes, unicode and dots inside', () => {
    expect(validateName('a'.repeat(1024))).toHaveLength(1024);
    expect(validateName('照片 .2024.jpg')).toBe('照片 .2024.jpg');
  });

  it('auto-renames before the extension', () => {
    expect(nextFreeName('a.jpg', new Set(['a.jpg']))).toBe('a(1).jpg');
    expect(nextFreeName('a.jpg', new Set(['a.jpg', 'a(1).jpg']))).toBe('a(2).jpg');
    expect(nextFreeName('.bashrc', new Set())).toBe('.bashrc(1)');
  });

  it('puts every name auto_rename can produce from a name in that name\'s lock family', () => {
    for (const name of ['a.jpg', 'a(1).jpg', 'a(1)(2).jpg', '.bashrc', 'noext', 'x.tar.gz', 'b(7)', '照片(3).heic']) {
      const taken = new Set([name]);
      for (let i = 0; i < 3; i++) {
        const next = nextFreeName(name, taken);
        expect(nameFamily(next)).toBe(nameFamily(name));
        taken.add(next);
      }
    }
    expect(nameFamily('a.jpg')).not.toBe(nameFamily('b.jpg'));
    expect(nameFamily('a.jpg')).not.toBe(nameFamily('a.png'));
  });

  it('derives category and content type from the extension', () => {
    expect(describeName('IMG_1.JPG')).toEqual({ file_extension: 'jpg', category: 'image', content_type: 'image/jpeg' });
    expect(describeName('notes')).toEqual({ file_extension: '', category: 'others', content_type: 'application/octet-stream' });
  });
});
