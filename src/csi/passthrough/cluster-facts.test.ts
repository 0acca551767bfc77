import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { KubernetesClusterFacts } from './cluster-facts.js';

/** A CoreV1Api whose readNamespacedPod answers as told: a body, or a rejection like the client's HttpError. */
function facts(answer: () => Promise<unknown>): KubernetesClusterFacts {
  return new KubernetesClusterFacts({ readNamespacedPod: async () => ({ body: await answer() }) } as unknown as CoreV1Api);
}
const httpError = (statusCode: number, message?: string) => Object.assign(new Error('HTTP request failed'), { statusCode, body: { kind: 'Status', code: statusCode, message } });
const pod = { metadata: { uid: 'u-1', annotations: { a: 'b' } }, spec: { runtimeClassName: 'kata' } };

test('pod lookup: facts, no facts to have (404, another UID, no UID), or an error to retry on (5xx, 403, network)', async () => {
  assert.deepEqual(await facts(async () => pod).pod('ns', 'p', 'u-1'), { pod: { annotations: { a: 'b' }, runtimeClassName: 'kata' } });
  assert.deepEqual(await facts(async () => Promise.reject(httpError(404))).pod('ns', 'p', 'u-1'), { unavailable: 'pod ns/p not found' });
  assert.match((await facts(async () => pod).pod('ns', 'p', 'u-2') as { unavailable: string }).unavailable, /has UID u-1, not u-2/);
  assert.match((await facts(async () => pod).pod('ns', 'p', '') as { unavailable: string }).unavailable, /no UID given for pod ns\/p/);
  assert.deepEqual(await facts(async () => Promise.reject(httpError(500, 'etcdserver: request timed out'))).pod('ns', 'p', 'u-1'), { error: 'HTTP 500: etcdserver: request timed out' });
  assert.deepEqual(await facts(async () => Promise.reject(httpError(403))).pod('ns', 'p', 'u-1'), { error: 'HTTP 403' });
  assert.deepEqual(await facts(async () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:443'))).pod('ns', 'p', 'u-1'), { error: 'connect ECONNREFUSED 10.0.0.1:443' });
  assert.ok('error' in (await facts(async () => '<html>proxy</html>').pod('ns', 'p', 'u-1')), 'an answer that is not a pod');
});

test('pod lookup: spec.securityContext.fsGroupChangePolicy when it is one kubelet knows; another value is ignored, with a log line', async () => {
  const warned: unknown[][] = [];
  const log = { warn: (...args: unknown[]) => void warned.push(args) } as unknown as Pick<Logger, 'warn'>;
  const withPolicy = (fsGroupChangePolicy: unknown) => ({ ...pod, spec: { ...pod.spec, securityContext: { fsGroup: 2000, fsGroupChangePolicy } } });
  const lookup = (body: object) => new KubernetesClusterFacts({ readNamespacedPod: async () => ({ body }) } as unknown as CoreV1Api, log).pod('ns', 'p', 'u-1');
  for (const policy of ['OnRootMismatch', 'Always'] as const) {
    assert.deepEqual(await lookup(withPolicy(policy)), { pod: { annotations: { a: 'b' }, runtimeClassName: 'kata', fsGroupChangePolicy: policy } });
  }
  assert.deepEqual(warned, []);
  // Unset (no securityContext, or no policy in it): no policy, nothing to say.
  for (const body of [pod, { ...pod, spec: { ...pod.spec, securityContext: { runAsUser: 1000 } } }, { ...pod, spec: { ...pod.spec, securityContext: null } }, withPolicy(null)]) {
    assert.deepEqual(await lookup(body), { pod: { annotations: { a: 'b' }, runtimeClassName: 'kata' } });
  }
  assert.deepEqual(warned, []);
  // A value Kubernetes does not define (or a later one): the pod is still read, the policy left out and logged.
  for (const policy of ['onRootMismatch', 'Never', 7]) {
    assert.deepEqual(await lookup(withPolicy(policy)), { pod: { annotations: { a: 'b' }, runtimeClassName: 'kata' } });
  }
  assert.equal(warned.length, 3);
  assert.deepEqual(warned[0]![0], { pod: 'ns/p', fsGroupChangePolicy: 'onRootMismatch' });
  assert.match(String(warned[0]![1]), /fsGroupChangePolicy ignored: not one of Always, OnRootMismatch/);
});

const inCluster = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token') ? 'this machine has an in-cluster service account' : false;

test('no configuration anywhere is reported as such, not as a client of http://localhost:8080', { skip: inCluster }, async () => {
  const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG, TOKEN_FILE_PATH: process.env.TOKEN_FILE_PATH };
  process.env.HOME = mkdtempSync(join(tmpdir(), 'passvol-home-'));
  delete process.env.KUBECONFIG;
  delete process.env.TOKEN_FILE_PATH;
  try {
    await assert.rejects(KubernetesClusterFacts.load(), /found no kubeconfig \(\$KUBECONFIG, ~\/.kube\/config\) and no in-cluster service account token/);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
