import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (holds schemas/, test/k8s/), from src/ or the compiled lib/. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
