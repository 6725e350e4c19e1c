/**
 * The undo steps of a test fixture's setup, each added as soon as what it undoes has started, so that a
 * setup that fails halfway is undone as far as it got.
 */
export interface Teardown {
  /** Adds a step; run() runs the steps last added first. */
  add(undo: () => unknown): void;
  /** Runs every step once, in reverse order, each even when one before it threw; then throws what failed. */
  run(): Promise<void>;
}

export function createTeardown(label: string): Teardown {
  const steps: (() => unknown)[] = [];
  return {
    add: (undo) => void steps.push(undo),
    async run() {
      const errors: unknown[] = [];
      for (const undo of steps.splice(0).reverse()) {
        try {
          await undo();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${label}: ${errors.length} teardown steps failed`);
    },
  };
}
