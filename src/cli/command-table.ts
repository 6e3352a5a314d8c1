/**
 * Every command's name, usage and one-line summary, and how to load it.
 * `breakglass --help` lists commands from this table alone, and a command
 * line loads only the module of the command it names: the modules pull in
 * OpenPGP, the Kubernetes client and more, which `--help` never needs.
 */
import type { Registrar } from './main.js';

/** One command: what the top-level help shows, and its module. */
export interface CommandEntry {
  name: string;
  /** Arguments as the top-level help shows them. */
  args: string;
  summary: string;
  load: () => Promise<Registrar>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', args: '[dir]', summary: 'set up an access repository (policies/, sessions/)', load: async () => (await import('./commands/init.js')).registerInit },
  { name: 'request', args: '', summary: 'write break-glass requests (request new ...)', load: async () => (await import('./commands/request.js')).registerRequest },
  { name: 'validate', args: '', summary: 'check every policy and session file: schema and policy', load: async () => (await import('./commands/validate.js')).registerValidate },
  { name: 'show', args: '<id>', summary: 'show the approval view of a session', load: async () => (await import('./commands/show.js')).registerShow },
  { name: 'keygen', args: '', summary: 'make an OpenPGP key pair', load: async () => (await import('./commands/keygen.js')).registerKeygen },
  { name: 'approve', args: '[id]', summary: 'sign an approval of a request (or, with --policy, of a policy)', load: async () => (await import('./commands/approve.js')).registerApprove },
  { name: 'reject', args: '<id>', summary: 'reject a request with a reason', load: async () => (await import('./commands/reject.js')).registerReject },
  { name: 'verify', args: '<id>', summary: "verify a session's approvals against your trust file", load: async () => (await import('./commands/verify.js')).registerVerify },
  { name: 'end', args: '<id>', summary: 'end a session now', load: async () => (await import('./commands/end.js')).registerEnd },
  { name: 'runner', args: '', summary: 'run the in-account runner', load: async () => (await import('./commands/runner.js')).registerRunner },
  { name: 'receive', args: '<id>', summary: 'decrypt a delivered credential', load: async () => (await import('./commands/receive.js')).registerReceive },
  { name: 'audit', args: '', summary: 'verify every session in the git history end to end', load: async () => (await import('./commands/audit.js')).registerAudit },
  { name: 'replay', args: '<id>', summary: "verify and decrypt a session's recording; print its timeline", load: async () => (await import('./commands/replay.js')).registerReplay },
  { name: 'review', args: '<id>', summary: 'write the post-incident review of a session (Markdown)', load: async () => (await import('./commands/review.js')).registerReview },
  { name: 'demo', args: '', summary: 'run the whole signed lifecycle on this machine, narrated', load: async () => (await import('./commands/demo.js')).registerDemo },
  { name: 'drill', args: '', summary: 'rehearse a whole session against a staging cluster', load: async () => (await import('./commands/drill.js')).registerDrill },
];

/**
 * The command an argument list names, if any: the first argument, or the one
 * after `help`. Top-level options (--help, --version) take no value, so the
 * first argument is the command whenever there is one.
 */
export function namedCommand(argv: readonly string[]): CommandEntry | undefined {
  const first = argv[0] === 'help' ? argv[1] : argv[0];
  return COMMANDS.find((c) => c.name === first);
}
