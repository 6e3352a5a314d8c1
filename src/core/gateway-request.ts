/**
 * What a request to the Kubernetes API is, read the way the API server reads
 * it (apiserver's RequestInfoFactory: `/api/v1/...`, `/apis/<group>/<version>/...`,
 * `/namespaces/<ns>/<resource>/<name>/<subresource>`, the `watch` special verb,
 * list/watch for a GET without a name, deletecollection for a DELETE without
 * one), and whether the gateway's guardrails refuse it. Pure: no I/O.
 *
 * The gateway decides on the same reading as the API server, or refuses:
 * a path the two could read differently (percent-escapes, `.`/`..` or empty
 * segments) is refused outright, so a deny rule cannot be dodged by spelling.
 */
import type { DenyRule } from './schemas.js';

/** One API request as the gateway records and judges it. */
export interface KubeRequestInfo {
  resourceRequest: boolean;
  /** The Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection), or the lower-case method for other paths. */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** For `pods/exec`: the `command` query parameters, in order. */
  argv?: string[];
}

/** A refusal the gateway answers with a Status body. */
export interface GatewayRefusal {
  status: 400 | 401 | 403;
  code: 'GATEWAY_DENIED' | 'GATEWAY_PROTECTED_NAMESPACE' | 'GATEWAY_PATH_REFUSED' | 'GATEWAY_CREDENTIAL_REFUSED' | 'GATEWAY_IMPERSONATION_REFUSED';
  message: string;
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** Subresources that open a stream into a container: authorised as `create` (POST, SPDY) or `get` (GET, websocket) by the API server. */
const STREAM_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);
const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** Go's strconv.ParseBool truth values, which the API server's query decoding uses for `watch`. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

/** Splits a path, refusing what the API server might read differently from us. */
function segments(path: string): string[] | GatewayRefusal {
  const refuse = (why: string): GatewayRefusal => ({ status: 400, code: 'GATEWAY_PATH_REFUSED', message: `the gateway refuses the path ${JSON.stringify(path.slice(0, 200))}: ${why}` });
  if (!path.startsWith('/')) return refuse('it does not start with /');
  if (path.includes('%')) return refuse('percent-escapes are not accepted in the path');
  if (path === '/') return [];
  const parts = path.replace(/\/$/, '').slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return refuse('empty, "." or ".." segments are not accepted');
  return parts;
}

/** Reads method and URL (path + query) as the API server would. */
export function classify(method: string, url: string): KubeRequestInfo | GatewayRefusal {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const parts = segments(path);
  if (!Array.isArray(parts)) return parts;
  const none: KubeRequestInfo = { resourceRequest: false, verb: method.toLowerCase(), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return none;
  let rest = parts.slice(1);
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (rest.length < 3) return none;
    apiGroup = rest[0]!;
    rest = rest.slice(1);
  }
  const apiVersion = rest[0]!;
  rest = rest.slice(1);
  let verb = METHOD_VERBS[method.toUpperCase()] ?? '';
  if (SPECIAL_VERBS.has(rest[0]!)) {
    if (rest.length < 2) return { status: 400, code: 'GATEWAY_PATH_REFUSED', message: `the gateway refuses ${path}: ${rest[0]} needs a resource` };
    verb = rest[0]!;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  const info: KubeRequestInfo = { resourceRequest: true, verb, apiGroup, apiVersion, namespace, resource, subresource: verb === 'proxy' ? '' : subresource, name };
  if (!name && verb === 'get') info.verb = TRUE.has(query.get('watch') ?? '') ? 'watch' : 'list';
  if (!name && verb === 'delete') info.verb = 'deletecollection';
  if (resource === 'pods' && subresource === 'exec') info.argv = query.getAll('command');
  return info;
}

/** The verbs a rule may name for this request: a container stream counts as `create` whichever method opened it. */
function verbsOf(info: KubeRequestInfo): string[] {
  return STREAM_SUBRESOURCES.has(info.subresource) ? [info.verb, 'create'] : [info.verb];
}

const COLLECTION_VERBS = new Set(['list', 'watch', 'deletecollection']);

/**
 * Whether `rule` matches. Resources follow RBAC's reading (`pods` is not
 * `pods/exec`; `*` is anything) but ignore the API group, so a look-alike
 * resource in another group is refused too. A rule limited to namespaces also
 * matches a list or watch across all namespaces, which would include them.
 */
export function ruleMatches(rule: DenyRule, info: KubeRequestInfo): boolean {
  if (!info.resourceRequest) return false;
  const verbs = verbsOf(info);
  if (!rule.verbs.some((v) => v === '*' || verbs.includes(v))) return false;
  const full = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  if (!rule.resources.some((r) => r === '*' || r === full)) return false;
  if (!rule.namespaces) return true;
  return rule.namespaces.includes(info.namespace) || (info.namespace === '' && COLLECTION_VERBS.has(info.verb));
}

/** A one-line description of a rule, for the approval view and refusal messages. */
export function describeRule(rule: DenyRule): string {
  const where = rule.namespaces ? ` in namespace${rule.namespaces.length > 1 ? 's' : ''} ${rule.namespaces.join(', ')} (and across all namespaces)` : '';
  return `${rule.verbs.join(', ')} ${rule.resources.join(', ')}${where}${rule.reason ? ` — ${rule.reason}` : ''}`;
}

/**
 * The requests that name no namespace but would reach into the runner's own
 * (why, or undefined). Refusing `namespaces/breakglass-system/...` alone
 * would leave three doors open to a session with cluster-wide rights:
 * - reading Secrets across all namespaces returns the runner's token Secret
 *   and the recording's chunks with everything else (core group only: that
 *   is where the API server keeps them);
 * - a delete of a whole collection without a namespace;
 * - the node proxy (`nodes/<n>/proxy`, `/api/v1/proxy/nodes/...`) is the
 *   kubelet's API, which can exec into the runner's pod on that node.
 * Lists of other kinds across namespaces (`get pods -A`) stay open: they
 * hold no credential.
 */
function reachesRunnerIndirectly(info: KubeRequestInfo): string | undefined {
  if (!info.resourceRequest || info.namespace !== '') return undefined;
  if (info.apiGroup === '' && info.resource === 'secrets' && (info.verb === 'list' || info.verb === 'watch')) return `${info.verb} secrets across all namespaces would include the runner's`;
  if (info.verb === 'deletecollection') return `deleting every ${info.resource} across all namespaces would include the runner's`;
  if (info.apiGroup === '' && info.resource === 'nodes' && (info.subresource === 'proxy' || info.verb === 'proxy')) return "the node proxy reaches the kubelet, which can enter the runner's pod";
  return undefined;
}

/**
 * The gateway's verdict on one request: the runner's own namespace first
 * (built in: it holds the markers, the recording and the runner's identity,
 * which a session must not touch whatever its privilege), then the policy's
 * deny rules. Undefined: forward it.
 */
export function gatewayRefusal(info: KubeRequestInfo, rules: readonly DenyRule[], runnerNamespaces: readonly string[]): GatewayRefusal | undefined {
  if (info.resourceRequest && runnerNamespaces.includes(info.namespace)) {
    return { status: 403, code: 'GATEWAY_PROTECTED_NAMESPACE', message: `breakglass gateway: namespace ${info.namespace} holds the runner's own state; no session may touch it` };
  }
  const sideDoor = reachesRunnerIndirectly(info);
  if (sideDoor) return { status: 403, code: 'GATEWAY_PROTECTED_NAMESPACE', message: `breakglass gateway: ${sideDoor}; no session may reach the runner's own state` };
  const rule = rules.find((r) => ruleMatches(r, info));
  if (rule)
    return {
      status: 403,
      code: 'GATEWAY_DENIED',
      message: `breakglass gateway: ${info.verb} ${info.subresource ? `${info.resource}/${info.subresource}` : info.resource} is denied by the policy: ${describeRule(rule)}`,
    };
  return undefined;
}

/**
 * Whether a request header asks the API server to act as someone else:
 * `Impersonate-User`, `-Group`, `-Uid`, `-Extra-*` (kubectl's `--as`), or the
 * front-proxy's `X-Remote-*` identity headers. The gateway forwards as the
 * session's ServiceAccount; a session able to impersonate would act as a
 * user the recording does not name, so no such header is ever forwarded. The
 * whole prefixes are matched: a header the API server adds later is refused too.
 */
export function isImpersonationHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith('impersonate-') || n.startsWith('x-remote-');
}

/** The refusal for a request carrying impersonation headers (names only: their values are not echoed). */
export function impersonationRefusal(headerNames: readonly string[]): GatewayRefusal | undefined {
  const found = [...new Set(headerNames.filter(isImpersonationHeader).map((h) => h.toLowerCase()))].sort();
  if (found.length === 0) return undefined;
  return {
    status: 403,
    code: 'GATEWAY_IMPERSONATION_REFUSED',
    message: `breakglass gateway: the session acts only as itself; refused the header${found.length > 1 ? 's' : ''} ${found.join(', ')}`,
  };
}

/** The Kubernetes Status body kubectl prints for a refusal ("Error from server (Forbidden): ..."). */
export function statusBody(r: GatewayRefusal, info?: KubeRequestInfo): string {
  const reason = r.status === 401 ? 'Unauthorized' : r.status === 403 ? 'Forbidden' : 'BadRequest';
  const details = info?.resourceRequest ? { name: info.name || undefined, kind: info.resource, group: info.apiGroup || undefined } : undefined;
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: r.message, reason, details, code: r.status });
}
