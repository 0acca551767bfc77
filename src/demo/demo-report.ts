// What the demo shows: one line per step, and checks with what was expected and what was seen. A step that
// throws is a failing check too, so `--json` readers see every failure on stdout.
import { describeFailures, errorMessage, type CleanupStack } from './cleanup-stack.js';

export interface DemoCheck {
  name: string;
  expected: string;
  seen: string;
  pass: boolean;
}

interface Out {
  write(text: string): unknown;
}

export class DemoReport {
  readonly checks: DemoCheck[] = [];
  private stepNo = 0;
  private current = 'Start the demo';

  /** `out` gets the report (stdout); `err` what is not a check in --json mode (stderr). */
  constructor(
    private readonly json: boolean,
    private readonly out: Out = process.stdout,
    private readonly err: Out = process.stderr,
  ) {}

  /** The step running now: a failure is named after it. */
  get currentStep(): string {
    return this.current;
  }

  step(text: string): void {
    this.current = text;
    if (!this.json) this.out.write(`\n[${++this.stepNo}] ${text}\n`);
  }

  info(text: string): void {
    if (!this.json) this.out.write(`${text.replace(/^/gm, '    ')}\n`);
  }

  check(name: string, expected: string, seen: string, pass = expected === seen): boolean {
    this.checks.push({ name, expected, seen, pass });
    if (this.json) this.out.write(`${JSON.stringify({ name, expected, seen, pass })}\n`);
    else this.out.write(`    ${pass ? 'ok  ' : 'FAIL'} ${name}${pass ? '' : ` (expected ${expected}, saw ${seen})`}\n`);
    return pass;
  }

  /** A step that threw: a failing check named after the step, expected to complete, seen failing with `error`. */
  stepFailed(error: unknown, step = this.current): void {
    this.check(step, 'completes', errorMessage(error), false);
  }

  get failed(): number {
    return this.checks.filter((c) => !c.pass).length;
  }

  summary(): void {
    const line = `${this.checks.length - this.failed} passed, ${this.failed} failed\n`;
    if (this.json) this.err.write(line);
    else this.out.write(`\n${line}`);
  }
}

/**
 * Runs the demo's steps: the first that throws becomes a failing check (the steps after it are skipped), then
 * `cleanupStep` runs every cleanup pushed meanwhile, and any that fails is a failing check of its own. Never
 * throws: whatever happens is in the report.
 */
export async function runSteps(report: DemoReport, cleanup: CleanupStack, cleanupStep: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    report.stepFailed(e);
  }
  if (cleanup.size === 0) return;
  report.step(cleanupStep);
  const failures = await cleanup.run();
  if (failures.length > 0) report.stepFailed(describeFailures(failures), cleanupStep);
}
