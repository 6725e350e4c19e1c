import { matchDriveMoves, type DriveIdentity } from './drive-moves';

const id = (key: string, over: Partial<DriveIdentity> = {}) => ({ key, domain: 'default/d', ownerType: 'group' as const, ownerId: 'ops', driveName: 'Ops drive', ...over });

test('a created Drive and a lost drive with the same domain, owner and drive name are one move', () => {
  const renamed = id('default/ops-renamed');
  const lost = id('default/ops');
  expect(matchDriveMoves([renamed], [lost])).toEqual({ moves: [{ to: renamed, from: lost }], ambiguous: [] });
});

test('a different owner, owner type, drive name or domain is no move: a create and a prune as before', () => {
  const lost = id('default/ops');
  for (const other of [{ ownerId: 'dev' }, { ownerType: 'user' as const }, { driveName: 'Dev drive' }, { domain: 'default/e' }, { domain: 'fin/d' }]) {
    expect(matchDriveMoves([id('default/new', other)], [lost])).toEqual({ moves: [], ambiguous: [] });
  }
  expect(matchDriveMoves([id('default/new')], [])).toEqual({ moves: [], ambiguous: [] });
  expect(matchDriveMoves([], [lost])).toEqual({ moves: [], ambiguous: [] });
});

test('two candidates on a side are ambiguous, never guessed; other groups still move', () => {
  const [a, b, lost] = [id('default/a'), id('default/b'), id('default/ops')];
  const [dev, devLost] = [id('default/dev2', { ownerId: 'dev' }), id('default/dev', { ownerId: 'dev' })];
  expect(matchDriveMoves([a, b, dev], [lost, devLost])).toEqual({ moves: [{ to: dev, from: devLost }], ambiguous: [{ created: [a, b], lost: [lost] }] });
  const lost2 = id('default/ops-old');
  expect(matchDriveMoves([a], [lost, lost2])).toEqual({ moves: [], ambiguous: [{ created: [a], lost: [lost, lost2] }] });
});
