/**
 * Our presigned URLs against the SDK's getSignedUrl for the same client, key and signing date: same
 * origin, same raw path (not normalised by URL), same query parameters and values, the signature
 * included. No network: presigning is local.
 */
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { contentDisposition } from './content-disposition';
import { createS3Presigner } from './s3-presigner';
import { createS3SigningResolver } from './s3-signing';

const KEYS = [
  'plain/key.bin',
  'with space/and  two spaces.txt',
  'unicode/Été 2024 – 日本 😀.jpg',
  'specials/plus+tilde~percent%25%equals=amp&semi;colon:at@comma,dollar$.bin',
  "reserved/!'()*[]#?hash.txt",
  'slashes//double/trailing/',
  '/leading-slash',
  'dots/./and/../segments',
  `long/${'segment-'.repeat(60)}/${'é'.repeat(100)}${'x'.repeat(300)}`,
];
const EXPIRIES = [1, 900, 3600, 604_800];
const STATIC = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SESSION = { ...STATIC, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+token/with=chars' };

const CLIENTS: Record<string, { bucket: string; config: S3ClientConfig }> = {
  'radosgw path-style': { bucket: 'openpds-test', config: { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', forcePathStyle: true, credentials: STATIC } },
  'radosgw with a session token': { bucket: 'openpds-test', config: { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', forcePathStyle: true, credentials: SESSION } },
  'endpoint with a port and a path': { bucket: 'b1', config: { endpoint: 'https://s3.example.test:8443/storage', region: 'eu-west-3', forcePathStyle: true, credentials: STATIC } },
  'custom endpoint, virtual-hosted': { bucket: 'media', config: { endpoint: 'https://minio.example.test', region: 'us-east-1', forcePathStyle: false, credentials: STATIC } },
  'AWS virtual-hosted, provider with a session token': {
    bucket: 'openpds-media',
    // A provider function, like the default chain (IRSA): credentials are resolved per call.
    config: { region: 'eu-central-1', forcePathStyle: false, credentials: async () => ({ ...SESSION, expiration: new Date(Date.now() + 3600_000) }) },
  },
  'AWS path-style': { bucket: 'openpds-media', config: { region: 'us-west-2', forcePathStyle: true, credentials: STATIC } },
  'AWS access point ARN': { bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/media-ap', config: { region: 'us-west-2', forcePathStyle: false, credentials: STATIC } },
  'AWS bucket with dots (the SDK forces path-style)': { bucket: 'media.example.com', config: { region: 'ap-southeast-2', forcePathStyle: false, credentials: STATIC } },
};

const DATES = [new Date('2024-05-01T12:34:56.789Z'), new Date('2024-05-02T00:00:00Z'), new Date('2031-12-31T23:59:59Z')];

describe.each(Object.entries(CLIENTS))('presigned URLs equal getSignedUrl: %s', (_name, { bucket, config }) => {
  const client = new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  let date = DATES[0]!;
  const presigner = createS3Presigner({ client, bucket, signing: createS3SigningResolver(client, bucket), now: () => date });
  const at = (expiresIn: number) => ({ expiresIn, signingDate: date });

  test('PutObject for every key, expiry and signing date', async () => {
    for (const signingDate of DATES)
      for (const Key of KEYS)
        for (const expiresIn of EXPIRIES) {
          date = signingDate;
          expect(parts(await presigner.putObjectUrl(Key, expiresIn))).toEqual(parts(await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key }), at(expiresIn))));
        }
  });

  test('GetObject with response-content-disposition (UTF-8 file names) and response-content-type', async () => {
    date = DATES[0]!;
    const responses = [
      { contentDisposition: contentDisposition('attachment') },
      { contentDisposition: contentDisposition('inline', 'photo.jpg'), contentType: 'image/jpeg' },
      { contentDisposition: contentDisposition('attachment', 'Été 2024 – 日本 "quoted" (1) 50%+~=&.jpg'), contentType: 'text/plain; charset=utf-8' },
      { contentType: 'application/octet-stream' },
    ];
    for (const Key of KEYS)
      for (const response of responses) {
        const command = new GetObjectCommand({ Bucket: bucket, Key, ResponseContentDisposition: response.contentDisposition, ResponseContentType: response.contentType });
        expect(parts(await presigner.getObjectUrl(Key, 900, response))).toEqual(parts(await getSignedUrl(client, command, at(900))));
      }
  });

  test('UploadPart with partNumber and uploadId', async () => {
    date = DATES[1]!;
    const uploadIds = ['2~aJz7Qx9vQm3bH1yTfWc4tLZkP0sNnRr', 'VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--', 'a+b/c=d.e_f-g'];
    for (const Key of KEYS)
      for (const UploadId of uploadIds)
        for (const PartNumber of [1, 17, 10_000]) {
          const command = new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber });
          expect(parts(await presigner.uploadPartUrl(Key, UploadId, PartNumber, 3600))).toEqual(parts(await getSignedUrl(client, command, at(3600))));
        }
  });

  test('PutObject and UploadPart with a signed content-length (SignedHeaders=content-length;host)', async () => {
    date = DATES[2]!;
    for (const Key of KEYS.slice(0, 3))
      for (const ContentLength of [0, 1, 5 * 1024 ** 3]) {
        expect(parts(await presigner.putObjectUrl(Key, 900, ContentLength))).toEqual(parts(await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key, ContentLength }), at(900))));
        const command = new UploadPartCommand({ Bucket: bucket, Key, UploadId: 'u-1', PartNumber: 3, ContentLength });
        expect(parts(await presigner.uploadPartUrl(Key, 'u-1', 3, 900, ContentLength))).toEqual(parts(await getSignedUrl(client, command, at(900))));
      }
  });

  test('an expiry past seven days is refused, as the SDK refuses it', async () => {
    await expect(getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: 'k' }), at(604_801))).rejects.toThrow();
    await expect(presigner.putObjectUrl('k', 604_801)).rejects.toThrow(RangeError);
  });
});

describe('response overrides S3 writes into its response headers', () => {
  const client = new S3Client({ ...CLIENTS['radosgw path-style']!.config });
  const signed = (url: string) => new URL(url).searchParams;

  test.each([false, true])('sign a content type that is not a media type as application/octet-stream, and no CR/LF (SDK signing %s)', async (sdk) => {
    const presigner = createS3Presigner({ client, bucket: 'openpds-test', signing: sdk ? async () => null : createS3SigningResolver(client, 'openpds-test'), now: () => DATES[0]! });
    for (const contentType of ['text/plain\r\nX-Injected: 1', 'text/plain; x=\u20ac', 'é', '']) {
      const query = signed(await presigner.getObjectUrl('k', 900, { contentType, contentDisposition: 'attachment; filename="a\r\nX-Injected: 1"' }));
      expect([contentType, query.get('response-content-type')]).toEqual([contentType, 'application/octet-stream']);
      expect(query.get('response-content-disposition')).toBe('attachment; filename="a__X-Injected: 1"');
    }
    const query = signed(await presigner.getObjectUrl('k', 900, { contentType: 'text/plain; charset=utf-8' }));
    expect(query.get('response-content-type')).toBe('text/plain; charset=utf-8');
    expect(query.has('response-content-disposition')).toBe(false);
  });
});

/**
 * A URL as its raw origin + path (URL would normalise dot segments and escapes) and its query's raw
 * name=value pairs, sorted: the order of parameters does not matter to S3, their encoding is compared too.
 */
function parts(url: string): { base: string; query: string[] } {
  const [base, query = ''] = url.split('?', 2) as [string, string?];
  return { base, query: query.split('&').sort() };
}
