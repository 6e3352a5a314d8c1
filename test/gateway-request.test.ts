/**
 * The gateway reads a request the way the API server's RequestInfoFactory
 * does, and its guardrails cannot be dodged by spelling a path differently,
 * by listing across all namespaces, or by opening exec with GET (websocket)
 * instead of POST (SPDY).
 */
import { describe, expect, it } from 'vitest';
import { classify, describeRule, gatewayRefusal, impersonationRefusal, statusBody, type KubeRequestInfo } from '../src/core/gateway-request.js';
import { DenyRule, Policy, type Request } from '../src/core/schemas.js';
import { buildApprovalView, renderText } from '../src/core/view.js';

const info = (method: string, url: string) => {
  const r = classify(method, url);
  if ('status' in r) throw new Error(r.message);
  return r as KubeRequestInfo;
};

describe('reading a request as the API server does', () => {
  it('names verb, namespace, resource, name and subresource', () => {
    expect(info('GET', '/api/v1/namespaces/work/pods')).toMatchObject({ verb: 'list', namespace: 'work', resource: 'pods', name: '' });
    expect(info('GET', '/api/v1/namespaces/work/pods/p1')).toMatchObject({ verb: 'get', resource: 'pods', name: 'p1' });
    expect(info('GET', '/api/v1/namespaces/work/configmaps?watch=true&resourceVersion=5')).toMatchObject({ verb: 'watch', resource: 'configmaps' });
    expect(info('GET', '/api/v1/namespaces/work/configmaps?watch=1')).toMatchObject({ verb: 'watch' });
    expect(info('GET', '/api/v1/watch/namespaces/work/configmaps')).toMatchObject({ verb: 'watch', namespace: 'work', resource: 'configmaps' });
    expect(info('POST', '/api/v1/namespaces/work/configmaps')).toMatchObject({ verb: 'create', resource: 'configmaps' });
    expect(info('DELETE', '/api/v1/namespaces/work/configmaps/c1')).toMatchObject({ verb: 'delete', name: 'c1' });
    expect(info('DELETE', '/api/v1/namespaces/work/configmaps')).toMatchObject({ verb: 'deletecollection' });
    expect(info('PATCH', '/apis/apps/v1/namespaces/work/deployments/d/scale')).toMatchObject({
      verb: 'patch',
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'deployments',
      name: 'd',
      subresource: 'scale',
    });
  });

  it('reads /namespaces/<name> as the namespace object, and its status as a subresource', () => {
    expect(info('DELETE', '/api/v1/namespaces/work')).toMatchObject({ verb: 'delete', resource: 'namespaces', name: 'work', namespace: 'work' });
    expect(info('PUT', '/api/v1/namespaces/work/finalize')).toMatchObject({ resource: 'namespaces', name: 'work', subresource: 'finalize' });
  });

  it('keeps the argv of an exec from its command parameters, in order', () => {
    const r = info('POST', '/api/v1/namespaces/work/pods/p1/exec?command=ls&command=-la&command=%2Ftmp&container=c&stdout=true');
    expect(r).toMatchObject({ verb: 'create', resource: 'pods', subresource: 'exec', argv: ['ls', '-la', '/tmp'] });
  });

  it('treats discovery and other paths as non-resource requests', () => {
    expect(info('GET', '/version')).toMatchObject({ resourceRequest: false, verb: 'get' });
    expect(info('GET', '/apis/apps/v1')).toMatchObject({ resourceRequest: false });
    expect(info('GET', '/api')).toMatchObject({ resourceRequest: false });
  });

  it.each([
    ['a percent-escape', '/api/v1/namespaces/kube%2Dsystem/secrets'],
    ['a .. segment', '/api/v1/namespaces/work/../kube-system/secrets'],
    ['a . segment', '/api/v1/namespaces/./kube-system/secrets'],
    ['an empty segment', '/api/v1/namespaces//secrets'],
    ['a path without /', 'api/v1/secrets'],
  ])('refuses %s in the path (GATEWAY_PATH_REFUSED)', (_what, url) => {
    expect(classify('GET', url)).toMatchObject({ status: 400, code: 'GATEWAY_PATH_REFUSED' });
  });
});

describe('the guardrails', () => {
  const rules = [
    DenyRule.parse({ verbs: ['delete'], resources: ['namespaces'] }),
    DenyRule.parse({ verbs: ['get', 'list', 'watch'], resources: ['secrets'], namespaces: ['kube-system'], reason: 'cluster credentials' }),
    DenyRule.parse({ verbs: ['create'], resources: ['pods/exec'], namespaces: ['payments'] }),
  ];
  const verdict = (method: string, url: string) => gatewayRefusal(info(method, url), rules, ['breakglass-system']);

  it('refuses what a rule names, with GATEWAY_DENIED and 403', () => {
    expect(verdict('DELETE', '/api/v1/namespaces/work')).toMatchObject({ status: 403, code: 'GATEWAY_DENIED' });
    expect(verdict('GET', '/api/v1/namespaces/kube-system/secrets/s')).toMatchObject({ code: 'GATEWAY_DENIED' });
    expect(verdict('GET', '/api/v1/namespaces/kube-system/secrets?watch=true')).toMatchObject({ code: 'GATEWAY_DENIED' });
  });

  it('a namespaced rule also refuses the list across all namespaces that would include it', () => {
    const onConfigMaps = [DenyRule.parse({ verbs: ['list', 'watch'], resources: ['configmaps'], namespaces: ['kube-system'] })];
    expect(gatewayRefusal(info('GET', '/api/v1/configmaps'), onConfigMaps, ['breakglass-system'])).toMatchObject({ code: 'GATEWAY_DENIED' });
    expect(gatewayRefusal(info('GET', '/api/v1/watch/configmaps'), onConfigMaps, ['breakglass-system'])).toMatchObject({ code: 'GATEWAY_DENIED' });
    expect(gatewayRefusal(info('GET', '/api/v1/namespaces/work/configmaps'), onConfigMaps, ['breakglass-system'])).toBeUndefined();
  });

  it('an exec rule holds whether exec is opened with POST (SPDY) or GET (websocket)', () => {
    expect(verdict('POST', '/api/v1/namespaces/payments/pods/p/exec?command=sh')).toMatchObject({ code: 'GATEWAY_DENIED' });
    expect(verdict('GET', '/api/v1/namespaces/payments/pods/p/exec?command=sh')).toMatchObject({ code: 'GATEWAY_DENIED' });
  });

  it('lets through what no rule names', () => {
    expect(verdict('GET', '/api/v1/namespaces/default/secrets')).toBeUndefined();
    expect(verdict('DELETE', '/api/v1/namespaces/work/configmaps/c')).toBeUndefined();
    expect(verdict('GET', '/api/v1/namespaces/work/pods/p/exec?command=sh')).toBeUndefined();
    expect(verdict('GET', '/version')).toBeUndefined();
  });

  it("refuses every request into the runner's own namespaces, whatever the rules (GATEWAY_PROTECTED_NAMESPACE)", () => {
    expect(verdict('GET', '/api/v1/namespaces/breakglass-system/configmaps')).toMatchObject({ status: 403, code: 'GATEWAY_PROTECTED_NAMESPACE' });
    expect(verdict('DELETE', '/api/v1/namespaces/breakglass-system/secrets/bg-rec-x-000001')).toMatchObject({ code: 'GATEWAY_PROTECTED_NAMESPACE' });
    expect(gatewayRefusal(info('PATCH', '/api/v1/namespaces/breakglass-system'), [], ['breakglass-system'])).toMatchObject({ code: 'GATEWAY_PROTECTED_NAMESPACE' });
  });

  // Requests that name no namespace but would reach the runner's: its token
  // Secret and the recording's chunks, a delete of everything, the kubelet.
  it.each([
    ['list secrets across all namespaces', 'GET', '/api/v1/secrets'],
    ['list secrets with a selector', 'GET', '/api/v1/secrets?fieldSelector=metadata.namespace%3Dbreakglass-system'],
    ['watch secrets (path form)', 'GET', '/api/v1/watch/secrets'],
    ['watch secrets (query form)', 'GET', '/api/v1/secrets?watch=1'],
    ['delete a collection without a namespace', 'DELETE', '/api/v1/configmaps'],
    ['delete a custom collection without a namespace', 'DELETE', '/apis/example.com/v1/widgets'],
    ['the node proxy', 'GET', '/api/v1/nodes/node-1/proxy/run/breakglass-system/runner-0/runner'],
    ['the node proxy, root', 'POST', '/api/v1/nodes/node-1/proxy'],
    ['the legacy node proxy', 'GET', '/api/v1/proxy/nodes/node-1/exec/breakglass-system/runner-0/runner'],
  ])('refuses %s, which would reach the runner namespace (GATEWAY_PROTECTED_NAMESPACE), even with no rules', (_what, method, url) => {
    expect(gatewayRefusal(info(method, url), [], ['breakglass-system'])).toMatchObject({ status: 403, code: 'GATEWAY_PROTECTED_NAMESPACE' });
  });

  it('leaves cluster-wide reads that hold no credential open (get pods -A, list nodes, a Secret in a workload namespace)', () => {
    expect(gatewayRefusal(info('GET', '/api/v1/pods'), [], ['breakglass-system'])).toBeUndefined();
    expect(gatewayRefusal(info('GET', '/api/v1/nodes'), [], ['breakglass-system'])).toBeUndefined();
    expect(gatewayRefusal(info('GET', '/api/v1/nodes/node-1'), [], ['breakglass-system'])).toBeUndefined();
    expect(gatewayRefusal(info('GET', '/api/v1/namespaces/work/secrets'), [], ['breakglass-system'])).toBeUndefined();
    expect(gatewayRefusal(info('GET', '/apis/example.com/v1/secrets'), [], ['breakglass-system'])).toBeUndefined();
  });

  it('answers with a Kubernetes Status body kubectl prints as Forbidden', () => {
    const r = verdict('DELETE', '/api/v1/namespaces/work')!;
    const body = JSON.parse(statusBody(r, info('DELETE', '/api/v1/namespaces/work')));
    expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, details: { name: 'work', kind: 'namespaces' } });
    expect(body.message).toContain('delete namespaces');
  });

  it('describes a rule in plain words for the approval view', () => {
    expect(describeRule(rules[1]!)).toBe('get, list, watch secrets in namespace kube-system (and across all namespaces) — cluster credentials');
  });

  it.each([[{ verbs: ['remove'], resources: ['pods'] }], [{ verbs: ['get'], resources: ['Pods'] }], [{ verbs: ['get'], resources: [] }], [{ verbs: ['get'], resources: ['pods'], namespace: ['x'] }]])(
    'refuses a malformed rule %j',
    (rule) => {
      expect(DenyRule.safeParse(rule).success).toBe(false);
    },
  );
});

describe('the approval view', () => {
  const resource = { name: 'prod-eu', type: 'kubernetes' as const, privileges: ['view'], maxDuration: '1h', network: ['direct' as const] };
  const policy = (r: object) =>
    Policy.parse({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Policy',
      metadata: { name: 'p' },
      spec: {
        requesters: ['*@vendor.example'],
        recipients: ['0123456789ABCDEF0123456789ABCDEF01234567'],
        approvals: { required: 1, approvers: ['alice'] },
        requestExpiry: '4h',
        resources: [{ ...resource, ...r }],
      },
    });
  const request = {
    apiVersion: 'breakglass.dev/v1',
    kind: 'Request',
    metadata: { id: 'x', requester: 'a@vendor.example', created: '2026-11-21T02:17:00Z' },
    spec: { reason: 'INC-1 something', resource: 'prod-eu', privilege: 'view', duration: '1h', network: 'direct', recipient: '0123456789ABCDEF0123456789ABCDEF01234567' },
  } as Request;
  const view = (r: object) => {
    const p = policy(r);
    return renderText(
      buildApprovalView({
        request,
        requestPath: 'sessions/x/request.yaml',
        requestDigest: `sha256:${'0'.repeat(64)}`,
        evaluation: { violations: [], governing: { policy: p, resource: p.spec.resources[0]! }, clusterAdminTier: false },
        approvals: [],
      }),
    );
  };

  it('shows that recording is required and every deny rule the gateway enforces', () => {
    const text = view({
      recording: 'required',
      deny: [
        { verbs: ['delete'], resources: ['namespaces'] },
        { verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['kube-system'] },
      ],
    });
    expect(text).toMatch(/Recording\s+required: every request goes through the session gateway/);
    expect(text).toContain('Gateway denies  delete namespaces');
    expect(text).toContain('get, list secrets in namespace kube-system (and across all namespaces)');
  });

  it('adds nothing for a resource that says nothing about recording', () => {
    expect(view({})).not.toContain('Recording');
  });
});

describe('when a request asks to act as someone else', () => {
  it('refuses Impersonate-User, -Group, -Uid and -Extra-* (kubectl --as), in any case, naming the headers but not their values', () => {
    for (const h of ['Impersonate-User', 'impersonate-group', 'IMPERSONATE-UID', 'Impersonate-Extra-scopes', 'impersonate-extra-reason']) {
      const r = impersonationRefusal(['accept', h, 'user-agent']);
      expect(r).toMatchObject({ status: 403, code: 'GATEWAY_IMPERSONATION_REFUSED' });
      expect(r?.message).toContain(h.toLowerCase());
    }
  });

  it('refuses the front proxy identity headers X-Remote-User, -Group and -Extra-*', () => {
    for (const h of ['x-remote-user', 'X-Remote-Group', 'x-remote-extra-scopes']) expect(impersonationRefusal([h])).toMatchObject({ status: 403, code: 'GATEWAY_IMPERSONATION_REFUSED' });
  });

  it('lets ordinary headers through, including look-alikes that are not identity headers', () => {
    expect(impersonationRefusal(['accept', 'authorization', 'user-agent', 'content-type', 'x-request-id', 'x-remote', 'impersonate', 'kubectl-command'])).toBeUndefined();
  });

  it('answers a Kubernetes Status kubectl prints as Forbidden', () => {
    const r = impersonationRefusal(['impersonate-user', 'impersonate-group']);
    if (!r) throw new Error('not refused');
    expect(JSON.parse(statusBody(r, info('GET', '/api/v1/namespaces/work/pods')))).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message: 'breakglass gateway: the session acts only as itself; refused the headers impersonate-group, impersonate-user',
    });
  });
});
