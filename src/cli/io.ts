/**
 * What a command may touch of the outside world, handed in by the entry
 * point: output streams, the clock, the environment, the working directory.
 * Commands never read process.* themselves, so tests can run them in-process.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  now(): number;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** True when a person is at the terminal (prompts allowed). */
  interactive: boolean;
}

/** A command's result: the exit code (0 ok, 1 negative verdict, 2 usage/operational error). */
export type ExitCode = 0 | 1 | 2;
