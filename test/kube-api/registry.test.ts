import { createRegistry } from './registry';
import type { ResourceType } from './types';

const type = (version: string, plural = 'widgets'): ResourceType => ({
  group: 'example.com', version, kind: 'Widget', listKind: 'WidgetList', plural, singular: 'widget', namespaced: true,
  statusSubresource: false, generation: true, custom: true, storageKey: `example.com/${plural}`,
});

test('lookups follow registration and removal at once; a storage key answers its preferred version', () => {
  const registry = createRegistry();
  expect(registry.find('example.com', 'v1', 'widgets')).toBeUndefined();
  const [alpha, v1, beta] = [type('v1alpha1'), type('v1'), type('v1beta1')];
  registry.register([alpha, v1, beta], 'widgets.example.com');
  expect(registry.find('example.com', 'v1beta1', 'widgets')).toBe(beta);
  expect(registry.findByKind('example.com', 'v1alpha1', 'Widget')).toBe(alpha);
  expect(registry.byStorageKey('example.com/widgets')).toBe(v1);
  expect(registry.groups().find((g) => g.name === 'example.com')).toEqual({ name: 'example.com', versions: ['v1', 'v1beta1', 'v1alpha1'] });
  // Re-registered without v1 (a CRD update), then removed.
  registry.register([alpha, beta], 'widgets.example.com');
  expect(registry.find('example.com', 'v1', 'widgets')).toBeUndefined();
  expect(registry.byStorageKey('example.com/widgets')).toBe(beta);
  registry.unregister('widgets.example.com');
  expect(registry.byStorageKey('example.com/widgets')).toBeUndefined();
  expect(registry.all()).toEqual([]);
});
