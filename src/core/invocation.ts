/**
 * How the tool tells people to run it. Pinned to this exact version: an
 * approver runs it with their secret key, so "whatever the registry serves
 * under this name today" is not good enough; a published version's bytes
 * never change. The plain-gpg recipe beside it needs no install at all.
 */
import { PACKAGE_NAME, VERSION } from '../version.js';

/** `npx --yes <name>@<exact version>`: runs this release without installing it. */
export const CLI_INVOCATION = `npx --yes ${PACKAGE_NAME}@${VERSION}`;
