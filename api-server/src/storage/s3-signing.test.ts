/** The probe: one getSignedUrl read back as endpoint and scope, or null when we should not sign ourselves. */
import { parseProbeUrl } from './s3-signing';

describe('parseProbeUrl', () => {
  const plain =
    'http://127.0.0.1:7480/bkt/openpds-presign-probe?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD' +
    '&X-Amz-Credential=AK%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T123456Z&X-Amz-Expires=60' +
    '&X-Amz-Signature=00&X-Amz-SignedHeaders=host&x-id=GetObject';

  test('reads origin, signed host, base path and scope', () => {
    expect(parseProbeUrl(plain)).toEqual({
      origin: 'http://127.0.0.1:7480',
      host: '127.0.0.1:7480',
      basePath: '/bkt/',
      scope: { region: 'us-east-1', service: 's3' },
    });
  });

  test('anything but plain SigV4 with the host header alone is left to getSignedUrl', () => {
    expect(parseProbeUrl(plain.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'))).toBeNull();
    expect(parseProbeUrl(plain.replace('SignedHeaders=host', 'SignedHeaders=host%3Bx-amz-checksum-crc32'))).toBeNull();
    expect(parseProbeUrl(`${plain}&X-Amz-S3session-Token=t`)).toBeNull();
    expect(parseProbeUrl(plain.replace('openpds-presign-probe', 'other'))).toBeNull();
  });
});
