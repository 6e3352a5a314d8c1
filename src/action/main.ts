/**
 * The GitHub Action's entry (scripts/bundle.mjs bundles this file into
 * dist/index.js): the composition root. It builds the runner's `ActionIo` on
 * `@actions/core` and this process, and runs one step. Only this file reads
 * process.* or calls `@actions/core`, so what the bundle prints, writes and
 * exits with is `@actions/core`'s own doing.
 */
import * as core from '@actions/core';
import type { ActionIo } from './io.js';
import { runStep } from './run.js';

const io: ActionIo = {
  env: process.env,
  now: () => Date.now(),
  debug: (message) => core.debug(message),
  info: (message) => core.info(message),
  notice: (message, props) => core.notice(message, props),
  warning: (message, props) => core.warning(message, props),
  error: (message, props) => core.error(message, props),
  setOutput: (name, value) => core.setOutput(name, value),
  appendSummary: async (markdown) => {
    await core.summary.addRaw(markdown, true).write();
  },
  setFailed: (message) => core.setFailed(message),
};

await runStep(io);
