import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PASSTHROUGH_RUNTIME_CLASSES, EBS_PASSTHROUGH_ANNOTATION, defaultRuntimeClasses, NAS_PASSTHROUGH_ANNOTATION, decideAtCreate, decideAtPublish } from './decide.js';

const classes = DEFAULT_PASSTHROUGH_RUNTIME_CLASSES;
const none = decideAtCreate({ parameters: {}, pvcAnnotations: {} });

test('create: StorageClass parameter, Kata parameter and PVC annotation each ask for passthrough', () => {
  assert.equal(none.passthrough, false);
  assert.deepEqual(decideAtCreate({ parameters: { passthrough: 'true' }, pvcAnnotations: {} }), { passthrough: true, reason: 'StorageClass parameter passthrough=true' });
  assert.equal(decideAtCreate({ parameters: { 'katacontainers.direct.volume/volumetype': 'directvol' }, pvcAnnotations: {} }).passthrough, true);
  assert.match(decideAtCreate({ parameters: {}, pvcAnnotations: { 'skip-hostmount': 'true' } }).reason, /PVC annotation skip-hostmount/);
  assert.equal(decideAtCreate({ parameters: { passthrough: 'false' }, pvcAnnotations: { 'skip-hostmount': 'no' } }).passthrough, false);
});

test('publish: the pod annotation for this kind of volume, and only that one', () => {
  const pod = { annotations: { [NAS_PASSTHROUGH_ANNOTATION]: 'true' }, runtimeClassName: undefined };
  assert.equal(decideAtPublish({ requestedAtCreate: none, pod, podAnnotation: NAS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes }).passthrough, true);
  assert.equal(decideAtPublish({ requestedAtCreate: none, pod, podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes }).passthrough, false);
});

test('publish: a sandbox runtimeClassName from the configured set', () => {
  for (const rc of classes) {
    const d = decideAtPublish({ requestedAtCreate: none, pod: { annotations: {}, runtimeClassName: rc }, podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes });
    assert.equal(d.passthrough, true, rc);
  }
  const runc = decideAtPublish({ requestedAtCreate: none, pod: { annotations: {}, runtimeClassName: 'runc' }, podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes });
  assert.equal(runc.passthrough, false);
  assert.match(runc.reason, /runtimeClassName runc/);
});

test("the NAS driver's default set leaves Kata's runtimes out (Kata has no NFS volume type); the disk driver's has them", () => {
  assert.deepEqual(defaultRuntimeClasses('disk'), ['kata', 'kata-qemu', 'kata-clh', 'runv', 'rund', 'passvol']);
  assert.deepEqual(defaultRuntimeClasses('nas'), ['runv', 'rund', 'passvol']);
  const kataPod = { annotations: {}, runtimeClassName: 'kata-qemu' };
  assert.equal(decideAtPublish({ requestedAtCreate: none, pod: kataPod, podAnnotation: NAS_PASSTHROUGH_ANNOTATION, runtimeClasses: defaultRuntimeClasses('nas') }).passthrough, false);
  assert.equal(decideAtPublish({ requestedAtCreate: none, pod: kataPod, podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: defaultRuntimeClasses('disk') }).passthrough, true);
});

test('publish: a create-time request wins even without pod facts; no facts means host path with the reason', () => {
  const asked = decideAtCreate({ parameters: { passthrough: 'true' }, pvcAnnotations: {} });
  assert.equal(decideAtPublish({ requestedAtCreate: asked, pod: undefined, podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes }).passthrough, true);
  const d = decideAtPublish({ requestedAtCreate: undefined, pod: undefined, podUnavailableReason: 'pod UID mismatch', podAnnotation: EBS_PASSTHROUGH_ANNOTATION, runtimeClasses: classes });
  assert.equal(d.passthrough, false);
  assert.match(d.reason, /pod UID mismatch/);
});
