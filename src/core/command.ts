/**
 * Builds the exact argv a command credential runs with. Each `{name}` element
 * of the policy's template is replaced by the validated input as ONE whole
 * argument — the argument count never changes and no shell ever sees it.
 */
import { BreakglassError } from './errors.js';

const PLACEHOLDER = /^\{([a-z][a-z0-9_-]*)\}$/;

export function buildArgv(template: readonly string[], inputs: Readonly<Record<string, string>>): string[] {
  return template.map((arg) => {
    const m = PLACEHOLDER.exec(arg);
    if (!m) return arg;
    const value = inputs[m[1]!];
    if (value === undefined) throw new BreakglassError('INPUT_MISSING', `input "${m[1]}" is required by the command template`);
    return value;
  });
}

/** Shows argv unambiguously: each element JSON-quoted, so spaces and quotes cannot blur boundaries. */
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => JSON.stringify(a)).join(' ');
}
