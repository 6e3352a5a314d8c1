/**
 * The runner's log lines, readable (`--log-format text`, the default) or one
 * JSON object per line (`--log-format json`, through pino): time, level,
 * session, event, code, msg. The JSON carries only those fields, built from
 * the same line the text format prints — and those lines never hold a
 * secret (tokens and command output live only in memory until sealed), which
 * test/integration/runner-operable.test.ts checks for both formats.
 */
import { pino } from 'pino';

/** What a call site may say about a line beyond its text. */
export interface LogFields {
  session?: string;
  /** A stable event name: activated, activation-failed, ended, failed, refused, fetch-failed, preflight... */
  event?: string;
  code?: string;
  level?: 'info' | 'warn' | 'error';
}

export type RunnerLog = (line: string, fields?: LogFields) => void;

export type LogFormat = 'text' | 'json';

/** `session <id>:` and `record <id>:` lines name their session. */
const SESSION = /^(?:session|record) ([a-z0-9][a-z0-9-]{0,62}):/;
/** A stable code is UPPER_SNAKE with at least one underscore (SEAL_FAILED, PREFLIGHT_KEY_CANNOT_ENCRYPT). */
const CODE = /\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/;

/** Fills in what a line says about itself when the call site did not. */
export function fieldsOf(line: string, given: LogFields = {}): Required<Pick<LogFields, 'level' | 'event'>> & LogFields {
  const session = given.session ?? SESSION.exec(line)?.[1];
  const code = given.code ?? CODE.exec(line)?.[1];
  const failing = /failed|refused|cannot|will retry/.test(line);
  return { session, code, event: given.event ?? 'log', level: given.level ?? (failing || code ? 'warn' : 'info') };
}

/** The text format: `<RFC 3339 time> <line>`, as the runner has always printed. */
export function textLog(write: (s: string) => void, now: () => number): RunnerLog {
  return (line) => write(`${new Date(now()).toISOString()} ${line}`);
}

/** The JSON format: one object per line, each handed to `write` (without its newline). */
export function jsonLog(write: (s: string) => void, now: () => number): RunnerLog {
  const logger = pino(
    {
      base: undefined,
      messageKey: 'msg',
      timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (s: string) => write(s.replace(/\n$/, '')) },
  );
  return (line, given) => {
    const f = fieldsOf(line, given);
    // Only these fields: nothing a caller passes along by accident reaches the log.
    logger[f.level]({ session: f.session, event: f.event, code: f.code }, line);
  };
}

export function runnerLog(format: LogFormat, write: (s: string) => void, now: () => number): RunnerLog {
  return format === 'json' ? jsonLog(write, now) : textLog(write, now);
}
