/**
 * Where `auto` puts PGlite's initdb cache. os.homedir() throws when HOME is unset and the uid has no passwd
 * entry (`env -u HOME setpriv --reuid=54321 openpds serve`): that must mean no cache, not a server that
 * cannot open its database.
 */
import path from 'node:path';
import { initdbCacheDir } from './main';

const noHome = () => {
  throw Object.assign(new Error('ENOENT: no such file or directory, uv_os_homedir'), { code: 'ENOENT' });
};

describe('the PGlite initdb cache directory', () => {
  it('is none when HOME is unset and the uid has no home', () => {
    expect(initdbCacheDir('auto', {}, noHome)).toBeUndefined();
  });

  it('is under the home, or XDG_CACHE_HOME when that is absolute', () => {
    expect(initdbCacheDir('auto', {}, () => '/home/pds')).toBe(path.join('/home/pds', '.cache', 'openpds'));
    expect(initdbCacheDir('auto', { XDG_CACHE_HOME: '/var/cache' }, noHome)).toBe(path.join('/var/cache', 'openpds'));
    expect(initdbCacheDir('auto', { XDG_CACHE_HOME: 'relative' }, () => '/')).toBeUndefined();
  });

  it('is what the setting names, or none when off', () => {
    expect(initdbCacheDir('off', {}, noHome)).toBeUndefined();
    expect(initdbCacheDir('/srv/cache', {}, noHome)).toBe('/srv/cache');
  });
});
