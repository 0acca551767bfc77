// What the demo shows: one line per step, and checks with what was expected and what was seen.
export interface DemoCheck {
  name: string;
  expected: string;
  seen: string;
  pass: boolean;
}

export class DemoReport {
  readonly checks: DemoCheck[] = [];
  private stepNo = 0;

  constructor(private readonly json: boolean) {}

  step(text: string): void {
    if (!this.json) process.stdout.write(`\n[${++this.stepNo}] ${text}\n`);
  }

  info(text: string): void {
    if (!this.json) process.stdout.write(`${text.replace(/^/gm, '    ')}\n`);
  }

  check(name: string, expected: string, seen: string, pass = expected === seen): boolean {
    this.checks.push({ name, expected, seen, pass });
    if (this.json) process.stdout.write(`${JSON.stringify({ name, expected, seen, pass })}\n`);
    else process.stdout.write(`    ${pass ? 'ok  ' : 'FAIL'} ${name}${pass ? '' : ` (expected ${expected}, saw ${seen})`}\n`);
    return pass;
  }

  get failed(): number {
    return this.checks.filter((c) => !c.pass).length;
  }

  summary(): void {
    if (!this.json) process.stdout.write(`\n${this.checks.length - this.failed} passed, ${this.failed} failed\n`);
  }
}
