import { z } from 'zod';
import { AppError } from './errors';
import { timeIdMarkerKey } from './page';
import { checkResponse, createRpcRegistry, idField, MAX_BODY_NESTING, parseBody } from './rpc';

const schema = z.object({
  drive_id: idField,
  labels: z.array(z.string()).optional(),
  user_data: z.record(z.string(), z.unknown()).optional(),
  when: z.coerce.date().optional(),
});

function refusal(body: unknown): { code: string; status: number; message: string } {
  try {
    parseBody(schema, body);
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, status: e.status, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

describe('parseBody', () => {
  it('refuses NUL and unpaired surrogates anywhere in what the body keeps, naming the field', () => {
    expect(refusal({ drive_id: 'a\u0000b' })).toEqual({ code: 'InvalidParameter.DriveId', status: 400, message: expect.stringMatching(/^drive_id: must not contain NUL/) });
    expect(refusal({ drive_id: 'd', labels: ['ok', '\ud800'] })).toMatchObject({ code: 'InvalidParameter.Labels', message: expect.stringMatching(/^labels\.1: /) });
    expect(refusal({ drive_id: 'd', labels: ['x\udc00'] }).code).toBe('InvalidParameter.Labels');
    expect(refusal({ drive_id: 'd', user_data: { a: { b: ['\u0000'] } } })).toMatchObject({ code: 'InvalidParameter.UserData', message: expect.stringMatching(/^user_data\.a\.b\.0: /) });
    expect(refusal({ drive_id: 'd', user_data: { 'k\u0000': 1 } })).toMatchObject({ code: 'InvalidParameter.UserData', message: expect.stringMatching(/^user_data: /) });
  });

  it('keeps well-formed text (paired surrogates included), and ignores fields the schema drops', () => {
    const body = { drive_id: 'd', labels: ['😀', 'é'], user_data: { '😀': 'x', n: 1, deep: [[{ s: 'ok' }]] }, when: '2026-01-01T00:00:00Z', extra: '\u0000' };
    const parsed = parseBody(schema, body);
    expect(parsed.labels).toEqual(['😀', 'é']);
    expect(parsed).not.toHaveProperty('extra');
  });

  it('walks deeply nested values without recursion', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(refusal({ drive_id: 'd', user_data: { deep } }).code).toBe('InvalidParameter.UserData');
  });

  /** `levels` containers, the outermost being user_data (level 1 of the body). */
  const nested = (levels: number, leaf: unknown = 1): Record<string, unknown> => {
    let value: unknown = leaf;
    for (let i = 1; i < levels; i++) value = i % 2 ? { a: value } : [value];
    return { a: value };
  };

  it('refuses a body nesting deeper than MAX_BODY_NESTING with a 400 naming the field, and takes one at the limit', () => {
    expect(parseBody(schema, { drive_id: 'd', user_data: nested(MAX_BODY_NESTING) }).user_data).toBeDefined();
    const refused = refusal({ drive_id: 'd', user_data: nested(MAX_BODY_NESTING + 1) });
    expect(refused).toEqual({ code: 'InvalidParameter.UserData', status: 400, message: expect.stringMatching(/^user_data\.a\..*: nests arrays and objects deeper than 64 levels$/) });
  });

  it('refuses a 100k-deep body fast, without recursion (JSON.stringify of it overflowed the stack: a 500)', () => {
    const deep = JSON.parse(`{"drive_id":"d","user_data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`);
    const started = Date.now();
    expect(refusal(deep)).toMatchObject({ code: 'InvalidParameter.UserData', status: 400 });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('still reports schema errors first, as before', () => {
    expect(refusal({ drive_id: '' })).toMatchObject({ code: 'InvalidParameter.DriveId', status: 400 });
  });
});

describe('timeIdMarkerKey', () => {
  it('passes a (timestamp, id) key through and refuses any other shape with InvalidParameter.Marker', () => {
    expect(timeIdMarkerKey(null)).toBeNull();
    expect(timeIdMarkerKey(['2026-12-06T08:13:39.158Z', 'r1'])).toEqual(['2026-12-06T08:13:39.158Z', 'r1']);
    expect(timeIdMarkerKey(['2024-02-29T08:13:39.158123Z', 'r1'])).toEqual(['2024-02-29T08:13:39.158123Z', 'r1']);
    for (const bad of [['not a date', 'r1'], ['2026-02-30T00:00:00.000Z', 'r1'], ['2026-12-06T24:00:00Z', 'r1'], [5, 'r1'], ['2026-12-06T08:13:39.158Z', 7], ['2026-12-06T08:13:39.158Z', ''], ['2026-12-06T08:13:39.158Z', 'a\u0000'], [null, null]])
      expect(() => timeIdMarkerKey(bad)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Marker', status: 400 }));
  });
});

describe('checkResponse (the response check under test)', () => {
  const response = z.strictObject({ id: z.string(), at: z.iso.datetime(), note: z.string().optional() });
  const failure = (def: Parameters<typeof checkResponse>[0], result: unknown) => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      checkResponse(def, result);
      return undefined;
    } catch (e) {
      return e instanceof AppError ? { code: e.code, status: e.status, message: e.message } : e;
    } finally {
      spy.mockRestore();
    }
  };

  it('passes an answer that matches, read as JSON (dates as strings, undefined fields gone)', () => {
    expect(failure({ path: '/v2/x/get', response }, { id: 'a', at: new Date(0), note: undefined })).toBeUndefined();
    expect(failure({ path: '/v2/x/delete', status: 204 }, undefined)).toBeUndefined();
  });

  it('fails with a 500 naming the route and the field: a wrong type, a missing field, an undocumented one', () => {
    expect(failure({ path: '/v2/x/get', response }, { id: 1, at: '1970-01-01T00:00:00.000Z' })).toEqual({ code: 'InternalError.ResponseSchema', status: 500, message: expect.stringMatching(/^\/v2\/x\/get: .*\n[\s\S]*id/) });
    expect(failure({ path: '/v2/x/get', response }, { id: 'a' })).toMatchObject({ message: expect.stringContaining('at') });
    expect(failure({ path: '/v2/x/get', response }, { id: 'a', at: '1970-01-01T00:00:00.000Z', secret: 'x' })).toMatchObject({ message: expect.stringContaining('secret') });
  });

  it('fails a body where none is declared, and no body where one is', () => {
    expect(failure({ path: '/v2/x/do' }, { ok: true })).toMatchObject({ message: '/v2/x/do: answered a body, but declares no response schema' });
    expect(failure({ path: '/v2/x/get', response }, undefined)).toMatchObject({ message: '/v2/x/get: answered no body, but declares a response schema' });
    expect(failure({ path: '/v2/x/delete', status: 204, response }, { id: 'a', at: '1970-01-01T00:00:00.000Z' })).toMatchObject({ message: '/v2/x/delete: answered a body, but declares 204' });
  });

  it('is off unless asked for (main.ts asks under NODE_ENV=test, as jest sets it)', () => {
    expect(createRpcRegistry().validateResponses).toBe(false);
    expect(createRpcRegistry({ validateResponses: true }).validateResponses).toBe(true);
    expect(createRpcRegistry({ validateResponses: false }).validateResponses).toBe(false);
  });
});
