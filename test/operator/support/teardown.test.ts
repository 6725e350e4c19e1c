import { createTeardown } from './teardown';

test('steps run last added first, each once', async () => {
  const ran: string[] = [];
  const teardown = createTeardown('t');
  for (const step of ['kube', 'stub', 'operator']) teardown.add(() => void ran.push(step));
  await teardown.run();
  await teardown.run();
  expect(ran).toEqual(['operator', 'stub', 'kube']);
});

test('a step that throws does not keep the ones after it from running; its error is thrown at the end', async () => {
  const ran: string[] = [];
  const teardown = createTeardown('t');
  teardown.add(() => void ran.push('kube'));
  teardown.add(async () => {
    throw new Error('stub would not close');
  });
  teardown.add(() => void ran.push('operator'));
  await expect(teardown.run()).rejects.toThrow('stub would not close');
  expect(ran).toEqual(['operator', 'kube']);
});

test('two failures: both are thrown, in one AggregateError', async () => {
  const teardown = createTeardown('the suite');
  teardown.add(() => {
    throw new Error('a');
  });
  teardown.add(() => {
    throw new Error('b');
  });
  const error = await teardown.run().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AggregateError);
  expect((error as AggregateError).message).toBe('the suite: 2 teardown steps failed');
  expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['b', 'a']);
});
