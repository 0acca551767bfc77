// Undo in reverse order of doing, every step whatever the others threw, and say what failed: a demo that
// stopped half-way must still stop its servers, unmount, detach and remove what it made.
export interface CleanupFailure {
  step: string;
  error: unknown;
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const describeFailures = (failures: readonly CleanupFailure[]): string => failures.map((f) => `${f.step}: ${errorMessage(f.error)}`).join('; ');

export class CleanupStack {
  private readonly steps: { name: string; run: () => unknown }[] = [];

  /** `run` undoes something just done; it runs before everything pushed earlier. */
  push(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  get size(): number {
    return this.steps.length;
  }

  /** Runs (and forgets) every step, the last pushed first; one that throws does not stop the others. */
  async run(): Promise<CleanupFailure[]> {
    const failures: CleanupFailure[] = [];
    for (let s = this.steps.pop(); s; s = this.steps.pop()) {
      try {
        await s.run();
      } catch (error) {
        failures.push({ step: s.name, error });
      }
    }
    return failures;
  }

  /** run(), then one error naming every step that failed. */
  async runOrThrow(): Promise<void> {
    const failures = await this.run();
    if (failures.length === 1) throw failures[0]?.error;
    if (failures.length > 1) throw new AggregateError(failures.map((f) => f.error), describeFailures(failures));
  }
}
