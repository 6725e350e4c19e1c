import { ownsLabel } from './cluster-prune';

const LABEL = 'applyset.kubernetes.io/part-of';
const withFields = (...entries: { manager: string; labels?: string[] }[]) => ({
  metadata: {
    managedFields: entries.map(({ manager, labels }) => ({
      manager,
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': labels ? { 'f:labels': Object.fromEntries(labels.map((l) => [`f:${l}`, {}])) } : {}, 'f:data': {} },
    })),
  },
});

describe('ownsLabel', () => {
  it('is true only when the manager itself owns the label', () => {
    expect(ownsLabel(withFields({ manager: 'openpds-cli', labels: [LABEL] }), 'openpds-cli', LABEL)).toBe(true);
    // A copy made by kubectl with the label: kubectl owns it, openpds-cli owns nothing.
    expect(ownsLabel(withFields({ manager: 'kubectl-client-side-apply', labels: [LABEL] }), 'openpds-cli', LABEL)).toBe(false);
    // openpds-cli applied the object, but someone else put the label on it.
    expect(ownsLabel(withFields({ manager: 'openpds-cli', labels: ['app'] }, { manager: 'someone', labels: [LABEL] }), 'openpds-cli', LABEL)).toBe(false);
    expect(ownsLabel(withFields({ manager: 'openpds-cli' }), 'openpds-cli', LABEL)).toBe(false);
    expect(ownsLabel({ metadata: {} }, 'openpds-cli', LABEL)).toBe(false);
  });
});
