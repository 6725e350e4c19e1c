import { autoRenamePrefix, cutToBytes, describeName, describeRename, nameFamily, nextFreeName, numberedName, validateName } from './names';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

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

  it('puts every name auto_rename can produce from a name in that name\'s lock family, unless cut to fit (files.service freeName)', () => {
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

  it('cuts a name auto_rename numbers to 1024 bytes at a character boundary, keeping the extension', () => {
    const cases = [
      'a'.repeat(1020) + '.txt', // 1024 bytes of ASCII
      'é'.repeat(510) + '.txt', // 2-byte characters at the cut
      'a' + '照'.repeat(339) + '.md', // 3-byte: 1 + 1017 + 3 bytes
      '😀'.repeat(255) + '.jpg', // 4-byte (surrogate pairs in UTF-16)
      'x'.repeat(1023), // no extension
      'a.' + 'b'.repeat(1021), // an extension too long to keep
      '照'.repeat(300) + '.' + 'é'.repeat(60), // 900 + 1 + 120 bytes
    ];
    for (const name of cases) {
      expect(bytes(validateName(name))).toBeLessThanOrEqual(1024);
      const taken = new Set([name]);
      for (const n of [1, 2, 10, 100, 12345]) {
        const next = numberedName(name, n);
        expect(validateName(next)).toBe(next);
        expect(bytes(next)).toBeLessThanOrEqual(1024);
        expect(bytes(next)).toBeGreaterThan(1024 - 4); // cut by at most one character's bytes less than needed
        expect(next).not.toContain('\ufffd');
        expect(next.startsWith(autoRenamePrefix(name))).toBe(true);
        expect(next.endsWith(`(${n})`) || next.includes(`(${n}).`)).toBe(true);
        taken.add(next);
      }
      expect(nextFreeName(name, taken)).toBe(numberedName(name, 3));
    }
    expect(numberedName('a'.repeat(1020) + '.txt', 1)).toBe('a'.repeat(1017) + '(1).txt');
    expect(numberedName('é'.repeat(510) + '.txt', 1)).toBe('é'.repeat(508) + '(1).txt'); // 1016 + 3 + 4: 1017 would split an é
    expect(numberedName('😀'.repeat(255) + '.jpg', 10)).toBe('😀'.repeat(254) + '(10).jpg'); // 1016 + 4 + 4
    expect(numberedName('a.' + 'b'.repeat(1021), 1)).toBe('a.' + 'b'.repeat(1019) + '(1)');
    // Short names are not cut: the prefix is the base, as before.
    expect(autoRenamePrefix('a.jpg')).toBe('a');
    expect(numberedName('a.jpg', 7)).toBe('a(7).jpg');
  });

  it('cuts at code points', () => {
    expect(cutToBytes('aé照😀', 10)).toBe('aé照😀');
    expect(cutToBytes('aé照😀', 9)).toBe('aé照');
    expect(cutToBytes('aé照😀', 2)).toBe('a');
    expect(cutToBytes('😀', 3)).toBe('');
  });

  it('derives category and content type from the extension', () => {
    expect(describeName('IMG_1.JPG')).toEqual({ file_extension: 'jpg', category: 'image', content_type: 'image/jpeg' });
    expect(describeName('notes')).toEqual({ file_extension: '', category: 'others', content_type: 'application/octet-stream' });
  });

  it('describes a rename only when the extension changes, and never for a folder', () => {
    expect(describeRename('file', 'txt', 'report.pdf')).toEqual({ file_extension: 'pdf', category: 'doc', content_type: 'application/pdf' });
    expect(describeRename('file', '', 'photo.HEIC')).toEqual({ file_extension: 'heic', category: 'image', content_type: 'image/heic' });
    expect(describeRename('file', 'jpg', 'a')).toEqual({ file_extension: '', category: 'others', content_type: 'application/octet-stream' });
    expect(describeRename('file', 'bin', 'data2.bin')).toEqual({});
    expect(describeRename('file', 'jpg', 'img.jpg')).toEqual({});
    expect(describeRename('folder', null, 'b.txt')).toEqual({});
    // A file mislabelled by an older rename (notes.txt stored as bin) is put right by one that keeps .txt.
    expect(describeRename('file', 'bin', 'notes2.txt')).toEqual({ file_extension: 'txt', category: 'doc', content_type: 'text/plain' });
  });
});
