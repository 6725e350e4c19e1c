// An empty Secret name (a Domain stored before the CRD required one) is not skipped: the Secret check sees it.
import { referencedSecretKeys } from './domain.chart';
import { createDomainContext } from './domain-context';
import { fullDomain } from './testing/domain-fixtures';

test('referencedSecretKeys keeps a reference with an empty Secret name, so it is checked, never silently rendered', () => {
  const d = fullDomain();
  d.spec.database = { urlSecretRef: { name: '' } };
  d.spec.storage.s3!.credentialsSecretRef = { name: '' };
  d.spec.alerts = {};
  expect(referencedSecretKeys(createDomainContext(d))).toEqual([
    { secret: '', key: 'AWS_ACCESS_KEY_ID', readBy: 'OPENPDS_S3_ACCESS_KEY_ID' },
    { secret: '', key: 'AWS_SECRET_ACCESS_KEY', readBy: 'OPENPDS_S3_SECRET_ACCESS_KEY' },
    { secret: '', key: 'url', readBy: 'OPENPDS_DATABASE_URL' },
  ]);
});
