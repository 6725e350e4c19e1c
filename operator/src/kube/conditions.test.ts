import { conditionsEqual, findCondition, isConditionTrue, removeCondition, setCondition, setConditions } from './conditions';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

describe('setCondition', () => {
  it('adds a condition with a second-precision lastTransitionTime', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Creating', message: 'waiting', observedGeneration: 1 }, t0);
    expect(list).toEqual([
      { type: 'Ready', status: 'False', reason: 'Creating', message: 'waiting', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip, but updates reason, message and generation', () => {
    const before = setCondition([], { type: 'Ready', status: 'False', reason: 'Creating', observedGeneration: 1 }, t0);
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'WaitingForPods', message: '1/2', observedGeneration: 2 }, t1);
    expect(after).toEqual([
      { type: 'Ready', status: 'False', reason: 'WaitingForPods', message: '1/2', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2 },
    ]);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const before = setCondition([], { type: 'Ready', status: 'False', reason: 'Creating' }, t0);
    const after = setCondition(before, { type: 'Ready', status: 'True', reason: 'Available' }, t1);
    expect(findCondition(after, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(isConditionTrue(after, 'Ready')).toBe(true);
  });

  it('never mutates its input and keeps other conditions in place', () => {
    const before = setConditions(undefined, [
      { type: 'Ready', status: 'False', reason: 'Creating' },
      { type: 'Progressing', status: 'True', reason: 'Applying' },
      { type: 'Degraded', status: 'False', reason: 'AsExpected' },
    ], t0);
    const snapshot = structuredClone(before);
    const after = setCondition(before, { type: 'Progressing', status: 'False', reason: 'Done' }, t1);
    expect(before).toEqual(snapshot);
    expect(after.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded']);
    expect(after[0]).toBe(before[0]);
  });

  it('removes a condition', () => {
    const list = setCondition([], { type: 'Degraded', status: 'True', reason: 'Broken' }, t0);
    expect(removeCondition(list, 'Degraded')).toEqual([]);
    expect(isConditionTrue(undefined, 'Ready')).toBe(false);
  });
});

describe('conditionsEqual', () => {
  it('ignores order and sees any field change', () => {
    const a = setConditions([], [
      { type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 3 },
      { type: 'Degraded', status: 'False', reason: 'AsExpected', observedGeneration: 3 },
    ], t0);
    expect(conditionsEqual(a, [...a].reverse())).toBe(true);
    expect(conditionsEqual(a, setCondition(a, { type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 3 }, t1))).toBe(true);
    expect(conditionsEqual(a, setCondition(a, { type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 4 }, t1))).toBe(false);
    expect(conditionsEqual(a, a.slice(1))).toBe(false);
    expect(conditionsEqual(undefined, [])).toBe(true);
  });
});
