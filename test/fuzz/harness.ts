/**
 * The fuzzing harness: a target is a fast-check arbitrary plus a function that feeds one
 * input to the code under test and says what happened ('ok' or the error code it was
 * rejected with). Anything else (another exception, an undocumented code, an accepted
 * input that breaks an invariant) is a crash: the property fails and fast-check shrinks it.
 * `npm test` runs every target with its `fast` count, `npm run fuzz` with its `full` count.
 *
 * @example
 * const report = await checkTarget(codecTargets[0]); // runs its `fast` count
 * assert.equal(report.failure, undefined);
 * report.outcomes; // { ok: 812, TRUNCATED: 901, MALFORMED: 287 }
 */
import fc from 'fast-check';

export interface TargetDefinition<T> {
  /** Stable name, e.g. "codec.topk" (the key in bench/results/fuzz.json). */
  name: string;
  /** What it feeds to what, in a few words. */
  description: string;
  arbitrary: fc.Arbitrary<T>;
  /**
   * Feeds one input; returns 'ok' or the code it was rejected with (one per message for an
   * input that is a sequence of messages); throws on a crash.
   */
  run?: (input: T) => string | string[];
  /** The same, for targets that need the event loop (real sockets, timers). */
  runAsync?: (input: T) => Promise<string | string[]>;
  /** Inputs under `npm test`. */
  fast: number;
  /** Inputs under `npm run fuzz`. */
  full: number;
  /** Outcome labels that must each appear at least once in a run of `fast` inputs. */
  mustSee?: readonly string[];
  /** Starts what the inputs need (a server); the returned function stops it. */
  setup?: () => Promise<() => Promise<void>>;
}

/** A target with its input type erased, so targets of any input type share one list. */
export interface FuzzTarget {
  name: string;
  description: string;
  fast: number;
  full: number;
  mustSee: readonly string[];
  /** Runs `inputs` inputs from `seed`; never throws, reports a crash in `failure`. */
  run(inputs: number, seed: number): Promise<TargetReport>;
}

export interface TargetReport {
  name: string;
  /** Inputs fed (fast-check's numRuns, shrinking excluded). */
  inputs: number;
  /** How many inputs ended in each outcome ('ok' or a rejection code); after a crash, shrinking replays count too. */
  outcomes: Record<string, number>;
  /** Crash description with fast-check's counterexample; undefined when none. */
  failure?: string;
  ms: number;
}

export function target<T>(definition: TargetDefinition<T>): FuzzTarget {
  return {
    name: definition.name,
    description: definition.description,
    fast: definition.fast,
    full: definition.full,
    mustSee: definition.mustSee ?? [],
    run: (inputs, seed) => runDefinition(definition, inputs, seed),
  };
}

/** A crash: never caught as a rejection. */
export class FuzzCrash extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzCrash';
  }
}

type CodedErrorClass = abstract new (...args: never[]) => Error & { readonly code: string };

/**
 * Runs fn; 'ok' when it returns, the error's code when it throws an instance of `errorClass`
 * whose code is in `codes`. Any other exception is a FuzzCrash.
 */
export function coded(fn: () => void, errorClass: CodedErrorClass, codes: readonly string[]): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof FuzzCrash) throw error;
    if (!(error instanceof errorClass)) {
      throw new FuzzCrash(`expected ${errorClass.name}, got ${describeError(error)}`, { cause: error });
    }
    if (!codes.includes(error.code)) {
      throw new FuzzCrash(`${errorClass.name} with undocumented code ${error.code}: ${error.message}`);
    }
    return error.code;
  }
}

/** Throws a FuzzCrash unless the condition holds (an invariant of an accepted input). */
export function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) throw new FuzzCrash(`accepted input breaks an invariant: ${what}`);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function checkDefinition<T>(
  t: TargetDefinition<T>,
  tally: (labels: string | string[]) => void,
  options: { numRuns: number; seed: number },
): fc.RunDetails<[T]> | Promise<fc.RunDetails<[T]>> {
  const { run, runAsync } = t;
  if (run !== undefined) {
    return fc.check(
      fc.property(t.arbitrary, (input) => {
        tally(run(input));
      }),
      options,
    );
  }
  if (runAsync === undefined) throw new Error(`${t.name}: define run or runAsync`);
  return fc.check(
    fc.asyncProperty(t.arbitrary, async (input) => {
      tally(await runAsync(input));
    }),
    options,
  );
}

async function runDefinition<T>(t: TargetDefinition<T>, inputs: number, seed: number): Promise<TargetReport> {
  const outcomes: Record<string, number> = {};
  const tally = (labels: string | string[]): void => {
    for (const label of typeof labels === 'string' ? [labels] : labels)
      outcomes[label] = (outcomes[label] ?? 0) + 1;
  };
  const started = performance.now();
  const teardown = await t.setup?.();
  let details: fc.RunDetails<[T]>;
  try {
    details = await checkDefinition(t, tally, { numRuns: inputs, seed });
  } finally {
    await teardown?.();
  }
  const report: TargetReport = {
    name: t.name,
    inputs: details.numRuns,
    outcomes,
    ms: Math.round(performance.now() - started),
  };
  if (details.failed) {
    const counterexample = fc.stringify(details.counterexample).slice(0, 2000);
    report.failure = `${describeError(details.errorInstance)}\n  counterexample (seed ${seed}): ${counterexample}`;
  }
  return report;
}

/** Runs a target's `fast` count and checks its report (for the node:test files). */
export async function checkTarget(t: FuzzTarget, seed = 0x5eed): Promise<TargetReport> {
  const report = await t.run(t.fast, seed);
  if (report.failure !== undefined) throw new Error(`${t.name} crashed: ${report.failure}`);
  if (report.inputs !== t.fast) throw new Error(`${t.name}: ran ${report.inputs} of ${t.fast} inputs`);
  for (const label of t.mustSee) {
    if ((report.outcomes[label] ?? 0) === 0) {
      throw new Error(`${t.name}: no input ended in ${label} (${JSON.stringify(report.outcomes)})`);
    }
  }
  return report;
}
