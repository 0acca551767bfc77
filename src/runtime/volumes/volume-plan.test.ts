import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodMemorySource } from './volume-plan.js';

test("pod memory is CRI's /dev/shm for the pod and kubelet's emptyDirs, by their host paths; no other host folder", () => {
  for (const source of ['/run/containerd/io.containerd.grpc.v1.cri/sandboxes/0a1b2c/shm', '/var/lib/kubelet/pods/5f0c-11/volumes/kubernetes.io~empty-dir/cache']) {
    assert.equal(isPodMemorySource(source), true, source);
  }
  for (const source of [
    '/dev/shm',
    '/run/containerd/io.containerd.grpc.v1.cri/sandboxes/0a1b2c/hosts',
    '/var/lib/kubelet/pods/5f0c-11/volumes/kubernetes.io~secret/token',
    '/var/lib/kubelet/pods/5f0c-11/volumes/kubernetes.io~empty-dir/cache/sub',
  ]) {
    assert.equal(isPodMemorySource(source), false, source);
  }
});
