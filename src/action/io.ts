/**
 * What the Action may touch of the runner, handed in by the entry point
 * (main.ts builds it on `@actions/core` and `process.env`): the environment,
 * the log and its annotations, the step outputs, the job summary, the step's
 * conclusion and the clock. Nothing else in src/action reads process.* or
 * calls `@actions/core`, so tests run the Action in-process with a recording
 * io, through the same code the bundle runs.
 */

/** The process environment, narrowed to what is read. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where an annotation points (the fields of `@actions/core`'s AnnotationProperties the Action sets). */
export interface AnnotationProps {
  title?: string;
  file?: string;
  startLine?: number;
  startColumn?: number;
}

export interface ActionIo {
  /** The step's environment: `INPUT_*` (read with `input`), GITHUB_*, and what a workflow's `env:` gives. */
  env: Env;
  now(): number;
  debug(message: string): void;
  info(message: string): void;
  notice(message: string, props?: AnnotationProps): void;
  warning(message: string, props?: AnnotationProps): void;
  error(message: string, props?: AnnotationProps): void;
  setOutput(name: string, value: string): void;
  /** Appends markdown, and a line end, to the job summary. */
  appendSummary(markdown: string): Promise<void>;
  /** Logs the message as an error and makes the step fail. */
  setFailed(message: string): void;
}

/**
 * The input `name` as `@actions/core`'s getInput reads it: the variable
 * `INPUT_` + the name upper-cased with spaces as `_`, trimmed, empty when unset.
 */
export function input(env: Env, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}
