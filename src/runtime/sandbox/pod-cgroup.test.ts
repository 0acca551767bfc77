import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OciSpecSchema } from '../oci/bundle.js';
import { podCgroupPathOf } from './pod-cgroup.js';

const spec = (cgroupsPath?: unknown) => OciSpecSchema.parse({ ociVersion: '1.0.2', process: { args: ['/bin/sh'] }, root: { path: 'rootfs' }, linux: { ...(cgroupsPath !== undefined ? { cgroupsPath } : {}) } });

test("the pod's cgroup: cgroupfs paths, absolute or relative, normalised; none when the bundle names none", () => {
  assert.deepEqual(podCgroupPathOf(spec('/kubepods/burstable/pod1/abc')), { kind: 'cgroupfs', path: '/kubepods/burstable/pod1/abc' });
  assert.deepEqual(podCgroupPathOf(spec('//kubepods//pod1/abc/')), { kind: 'cgroupfs', path: '/kubepods/pod1/abc' });
  assert.deepEqual(podCgroupPathOf(spec('passvol-test/pod/abc')), { kind: 'cgroupfs', path: 'passvol-test/pod/abc' });
  assert.equal(podCgroupPathOf(spec()), undefined);
  assert.equal(podCgroupPathOf(spec('')), undefined);
});

test("paths that name no cgroup of the sandbox's own, climb, or are systemd's are not joined, each with its reason", () => {
  for (const [path, why] of [
    ['/', /names no cgroup/],
    ['.', /names no cgroup/],
    ['./', /names no cgroup/],
    ['/kubepods/../system.slice', /must not climb/],
    ['../x', /must not climb/],
    ['kubepods-pod1.slice:cri-containerd:abc', /systemd's cgroup driver/],
    [42, /not a string/],
  ] as const) {
    const got = podCgroupPathOf(spec(path));
    assert.equal(got?.kind, 'unsupported', String(path));
    assert.match(got.kind === 'unsupported' ? got.why : '', why, String(path));
  }
});
