/**
 * The one way breakglass writes a document whose bytes are signed or digested
 * (requests, approvals, rejections, ends, policies, records, and the drill's
 * copies of them): block style, no line folding, two-space indent, no anchors
 * or aliases (the reader refuses them), and a hex nonce quoted, so no reader
 * ever takes a nonce of digits for a number.
 */
import { stringify } from 'yaml';

export function writeYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0, minContentWidth: 0, indent: 2, aliasDuplicateObjects: false }).replace(/^nonce: "?([0-9a-f]+)"?$/m, 'nonce: "$1"');
}
