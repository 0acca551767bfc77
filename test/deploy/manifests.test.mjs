// Offline checks of deploy/: renders it with the pinned kustomize (.tools/bin, installed by
// scripts/install-go-tools.sh), validates every rendered object against the Kubernetes OpenAPI
// schemas bundled in the kubernetes-models npm package, and asserts the facts the driver relies on.
//
// Schema validation has two halves, both offline:
//   1. kubernetes-models' generated validators (`new Kind(obj).validate()`): types, required
//      fields, enums, formats. They do not reject unknown fields.
//   2. The TypeScript compiler checks every object, as a literal, against kubernetes-models'
//      generated interfaces (`satisfies IKind`): excess-property checks catch unknown or misspelt
//      fields at any depth (e.g. `mountPropogation`), and string-literal unions catch bad enums.
// VolumeSnapshotClass (snapshot.storage.k8s.io, a CRD) is not in kubernetes-models: it is checked
// against a small interface written here from the upstream CRD's openAPIV3Schema.
//
// Run: node --test test/deploy/manifests.test.mjs   (after: bash scripts/install-go-tools.sh)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS_BIN = path.join(process.env.PASSVOL_TOOLS_DIR || path.join(ROOT, '.tools'), 'bin');
const KUSTOMIZE = path.join(TOOLS_BIN, 'kustomize');
const INSTALL_HINT = 'run `bash scripts/install-go-tools.sh` (installs the pinned Go tools into .tools/bin)';

const DISK = 'disk.csi.passvol.io';
const NAS = 'nas.csi.passvol.io';
const NAMESPACE = 'passvol-system';
const DIRECT_VOLUMES = '/run/kata-containers/shared/direct-volumes';
const KUBELET = '/var/lib/kubelet';
const SUBDIR_TEMPLATE = '${pvc.metadata.namespace}-${pvc.metadata.name}-${pv.metadata.name}';

// Kinds that are cluster-scoped: they must come out of kustomize without a namespace.
const CLUSTER_SCOPED = new Set([
  'Namespace', 'CSIDriver', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'VolumeSnapshotClass', 'RuntimeClass',
]);

// Kinds validated with a schema of our own (CRDs that kubernetes-models does not carry).
const OWN_SCHEMA_KINDS = new Set(['snapshot.storage.k8s.io/v1 VolumeSnapshotClass']);

/** The pin of a tool in scripts/install-go-tools.sh, e.g. "sigs.k8s.io/kustomize/kustomize/v5@v5.8.2". */
function pinnedTool(name) {
  const script = readFileSync(path.join(ROOT, 'scripts', 'install-go-tools.sh'), 'utf8');
  const m = script.match(new RegExp(`"${name}\\|([^|"]+)\\|([^|"]+)"`));
  assert.ok(m, `no pin for ${name} in scripts/install-go-tools.sh`);
  return `${m[1]}@${m[2]}`;
}

let cache;
/** kustomize build deploy/, parsed: [{ apiVersion, kind, metadata, ... }, ...]. Throws (fails the test) if kustomize is missing. */
function rendered() {
  if (cache) return cache;
  try {
    accessSync(KUSTOMIZE, constants.X_OK);
  } catch {
    throw new Error(`kustomize is not installed at ${KUSTOMIZE}: ${INSTALL_HINT}`);
  }
  const yamlText = execFileSync(KUSTOMIZE, ['build', path.join(ROOT, 'deploy')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const objects = [];
  for (const doc of parseAllDocuments(yamlText)) {
    assert.deepEqual(doc.errors, [], 'kustomize output is not valid YAML');
    const obj = doc.toJS();
    if (obj !== null) objects.push(obj);
  }
  cache = objects;
  return objects;
}

const id = (o) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
const find = (kind, name) => {
  const o = rendered().find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind} ${name} is not in the kustomize output`);
  return o;
};
/** Module of kubernetes-models that holds a kind: core "v1" -> "v1/Pod", "apps/v1" -> "apps/v1/DaemonSet". */
const modelModule = (o) => `kubernetes-models/${o.apiVersion}/${o.kind}`;

// ---------------------------------------------------------------------------------------------

test('the pinned kustomize is installed', () => {
  try {
    accessSync(KUSTOMIZE, constants.X_OK);
  } catch {
    assert.fail(`kustomize is not installed at ${KUSTOMIZE}: ${INSTALL_HINT}`);
  }
  let stamp = '';
  try {
    stamp = readFileSync(`${KUSTOMIZE}.version`, 'utf8').trim();
  } catch {
    // handled below
  }
  assert.equal(stamp, pinnedTool('kustomize'), `${KUSTOMIZE} is not the pinned version: ${INSTALL_HINT}`);
});

test('kustomize renders deploy/ into the expected set of objects', () => {
  const kinds = {};
  for (const o of rendered()) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  assert.deepEqual(kinds, {
    Namespace: 1,
    CSIDriver: 2,
    ServiceAccount: 2,
    ClusterRole: 5,
    ClusterRoleBinding: 5,
    Role: 1,
    RoleBinding: 1,
    Deployment: 2,
    DaemonSet: 2,
    StorageClass: 4,
    VolumeSnapshotClass: 1,
    RuntimeClass: 1,
  });
  const ids = rendered().map(id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate objects');
  for (const o of rendered()) {
    if (CLUSTER_SCOPED.has(o.kind)) {
      assert.equal(o.metadata.namespace, undefined, `${id(o)} is cluster-scoped but has a namespace`);
    } else {
      assert.equal(o.metadata.namespace, NAMESPACE, `${id(o)} is not in ${NAMESPACE}`);
    }
  }
});

test('every object passes the Kubernetes OpenAPI schema (kubernetes-models validators)', async (t) => {
  for (const o of rendered()) {
    if (OWN_SCHEMA_KINDS.has(`${o.apiVersion} ${o.kind}`)) continue; // checked in the next tests
    await t.test(id(o), async () => {
      let mod;
      try {
        mod = await import(modelModule(o));
      } catch (e) {
        assert.fail(`no schema for ${o.apiVersion} ${o.kind} in kubernetes-models (${e.message})`);
      }
      const Model = mod[o.kind];
      assert.equal(typeof Model, 'function', `kubernetes-models has no class ${o.kind}`);
      assert.doesNotThrow(() => new Model(o).validate());
    });
  }
});

test('VolumeSnapshotClass matches the snapshot.storage.k8s.io/v1 CRD schema (own check)', () => {
  // From kubernetes-csi/external-snapshotter client/config/crd/
  // snapshot.storage.k8s.io_volumesnapshotclasses.yaml (v1, scope: Cluster); the same shape is
  // also type-checked strictly below.
  const allowed = new Set(['apiVersion', 'kind', 'metadata', 'driver', 'deletionPolicy', 'parameters', 'allowedTopologies']);
  const classes = rendered().filter((o) => o.kind === 'VolumeSnapshotClass');
  assert.equal(classes.length, 1);
  for (const o of classes) {
    assert.equal(o.apiVersion, 'snapshot.storage.k8s.io/v1');
    for (const k of Object.keys(o)) assert.ok(allowed.has(k), `${id(o)}: unknown field ${k}`);
    assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    assert.ok(o.metadata.name.length <= 253);
    assert.equal(typeof o.driver, 'string', 'driver is required');
    assert.ok(['Delete', 'Retain'].includes(o.deletionPolicy), 'deletionPolicy is required: Delete or Retain');
    if (o.parameters !== undefined) {
      for (const [k, v] of Object.entries(o.parameters)) assert.equal(typeof v, 'string', `parameters.${k} must be a string`);
    }
    assert.equal(o.driver, DISK);
  }
});

test('every object type-checks strictly against the Kubernetes API types (no unknown fields)', () => {
  const objects = rendered();
  const lines = [
    "import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';",
    'type ObjectMeta = NonNullable<IStorageClass["metadata"]>;',
    '// snapshot.storage.k8s.io/v1 VolumeSnapshotClass, from the upstream CRD schema.',
    'interface VolumeSnapshotClass {',
    "  apiVersion: 'snapshot.storage.k8s.io/v1';",
    "  kind: 'VolumeSnapshotClass';",
    '  metadata: ObjectMeta;',
    '  driver: string;',
    "  deletionPolicy: 'Delete' | 'Retain';",
    '  parameters?: { [key: string]: string };',
    '  allowedTopologies?: { matchLabelExpressions?: { key: string; values: string[] }[] }[];',
    '}',
  ];
  const owners = []; // [first line (0-based) of an object's literal, object], in order
  objects.forEach((o, i) => {
    let type;
    if (OWN_SCHEMA_KINDS.has(`${o.apiVersion} ${o.kind}`)) {
      type = o.kind;
    } else {
      type = `T${i}`;
      lines.push(`import type { I${o.kind} as ${type} } from '${modelModule(o)}';`);
    }
    owners.push([lines.join('\n').split('\n').length, o]);
    lines.push(`export const o${i} = ${JSON.stringify(o, null, 1).replace(/\n\s*/g, '\n')} satisfies ${type};`);
  });
  const source = lines.join('\n');

  // A file that does not exist, served from memory, placed in the repository so that
  // 'kubernetes-models' resolves from its node_modules.
  const file = path.join(ROOT, 'test', 'deploy', '__rendered_manifests__.ts');
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest);
  host.fileExists = (f) => f === file || fileExists.call(host, f);
  host.readFile = (f) => (f === file ? source : readFile.call(host, f));
  const program = ts.createProgram([file], options, host);

  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file?.fileName !== file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const owner = owners.filter(([start]) => start <= line).pop();
    const near = source.split('\n')[line].trim();
    return `${owner ? id(owner[1]) : 'header'}: ${text}\n    at: ${near}`;
  });
  assert.deepEqual(problems, [], `objects do not match the Kubernetes API types:\n${problems.join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// Facts the driver depends on.

test('CSIDriver objects: both podInfoOnMount, disk attachRequired', () => {
  const disk = find('CSIDriver', DISK).spec;
  assert.equal(disk.attachRequired, true);
  assert.equal(disk.podInfoOnMount, true);
  assert.deepEqual(disk.volumeLifecycleModes, ['Persistent']);
  assert.equal(disk.fsGroupPolicy, 'File');

  const nas = find('CSIDriver', NAS).spec;
  assert.equal(nas.attachRequired, false);
  assert.equal(nas.podInfoOnMount, true);
  assert.equal(nas.fsGroupPolicy, 'File');
});

const container = (podSpec, name) => {
  const c = podSpec.containers.find((x) => x.name === name);
  assert.ok(c, `no container ${name}`);
  return c;
};

test('controllers: provisioner passes --extra-create-metadata; disk topology, attacher and snapshotter', () => {
  const disk = find('Deployment', 'passvol-disk-controller').spec;
  const nas = find('Deployment', 'passvol-nas-controller').spec;
  for (const [spec, driver, ports] of [[disk, 'disk', ['9808', '9809']], [nas, 'nas', ['9818', '9819']]]) {
    assert.equal(spec.replicas, 1);
    const pod = spec.template.spec;
    assert.equal(pod.serviceAccountName, 'passvol-controller');
    const prov = container(pod, 'csi-provisioner');
    assert.ok(prov.args.includes('--extra-create-metadata'), `${driver}: provisioner lacks --extra-create-metadata`);
    for (const c of pod.containers.filter((x) => x.image.startsWith('registry.k8s.io/sig-storage/csi-'))) {
      assert.ok(c.args.includes('--leader-election'), `${driver}: ${c.name} lacks --leader-election`);
    }
    for (const c of pod.containers.filter((x) => x.image.startsWith('registry.k8s.io/'))) {
      assert.match(c.image, /^registry\.k8s\.io\/sig-storage\/[a-z-]+:v\d+\.\d+\.\d+$/, `${c.name}: image not pinned`);
    }
    const drv = container(pod, 'passvol');
    assert.ok(drv.args.includes(`--driver=${driver}`));
    assert.ok(drv.args.includes('--mode=controller'));
    assert.ok(drv.args.includes(`--metrics-address=0.0.0.0:${ports[0]}`));
    assert.equal(drv.livenessProbe.httpGet.path, '/healthz');
    const probePort = drv.ports.find((p) => p.name === drv.livenessProbe.httpGet.port);
    assert.equal(String(probePort?.containerPort), ports[0], `${driver}: livenessProbe is not on the port that serves /healthz (--metrics-address)`);
  }
  const diskProv = container(disk.template.spec, 'csi-provisioner');
  assert.ok(diskProv.args.includes('--feature-gates=Topology=true'));
  assert.ok(diskProv.args.includes('--strict-topology'));
  // A default fs_type in every capability would hide the StorageClass's fstype parameter from the node.
  assert.ok(!diskProv.args.some((a) => a.startsWith('--default-fstype')), 'disk provisioner must not set --default-fstype');
  const names = (spec) => spec.template.spec.containers.map((c) => c.name).sort();
  assert.deepEqual(names(disk), ['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter', 'liveness-probe', 'passvol']);
  // The NAS driver offers no EXPAND_VOLUME: csi-resizer would exit at start ("does not support resize").
  assert.deepEqual(names(nas), ['csi-provisioner', 'liveness-probe', 'passvol']);
});

test('node DaemonSets: kubelet dir Bidirectional, direct-volumes dir at the same path, registrar path', () => {
  for (const [driver, name] of [['disk', DISK], ['nas', NAS]]) {
    const pod = find('DaemonSet', `passvol-${driver}-node`).spec.template.spec;
    const volumes = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
    const hostVolume = (mount) => volumes[mount.name]?.hostPath;
    const drv = container(pod, 'passvol');
    assert.equal(drv.securityContext?.privileged, true, `${driver}: passvol container is not privileged`);
    assert.ok(drv.env.some((e) => e.name === 'NODE_NAME' && e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName'));
    assert.ok(drv.args.includes('--mode=node') && drv.args.includes(`--driver=${driver}`));
    assert.ok(drv.args.includes('--node-id=$(NODE_NAME)'));
    assert.ok(drv.args.includes(`--direct-volume-root=${DIRECT_VOLUMES}`));

    const mountOf = (hostPath) => drv.volumeMounts.find((m) => hostVolume(m)?.path === hostPath);
    const kubelet = mountOf(KUBELET);
    assert.ok(kubelet, `${driver}: ${KUBELET} is not mounted`);
    assert.equal(kubelet.mountPath, KUBELET);
    assert.equal(kubelet.mountPropagation, 'Bidirectional');
    assert.equal(hostVolume(kubelet).type, 'Directory');

    const direct = mountOf(DIRECT_VOLUMES);
    assert.ok(direct, `${driver}: ${DIRECT_VOLUMES} is not mounted`);
    assert.equal(direct.mountPath, DIRECT_VOLUMES, 'direct-volumes dir must be mounted at the same path');
    assert.equal(hostVolume(direct).type, 'DirectoryOrCreate');

    for (const [hostPath, type] of [
      [`${KUBELET}/plugins/${name}`, 'DirectoryOrCreate'],
      ['/dev', 'Directory'],
      ['/var/lib/passvol', 'DirectoryOrCreate'],
    ]) {
      const m = mountOf(hostPath);
      assert.ok(m, `${driver}: ${hostPath} is not mounted`);
      assert.equal(hostVolume(m).type, type, `${driver}: ${hostPath} hostPath type`);
    }
    for (const hostPath of ['/run/vc', '/run/kata']) {
      const m = mountOf(hostPath);
      assert.ok(m, `${driver}: ${hostPath} (Kata monitor sockets) is not mounted`);
      assert.equal(m.readOnly, true);
    }

    const registrar = container(pod, 'node-driver-registrar');
    assert.ok(registrar.args.includes(`--kubelet-registration-path=${KUBELET}/plugins/${name}/csi.sock`));
    const regMount = registrar.volumeMounts.find((m) => hostVolume(m)?.path === `${KUBELET}/plugins_registry`);
    assert.ok(regMount, `${driver}: registrar does not mount plugins_registry`);
    container(pod, 'liveness-probe');
  }
  const diskArgs = container(find('DaemonSet', 'passvol-disk-node').spec.template.spec, 'passvol').args;
  assert.ok(diskArgs.includes('--disk-pool-dir=/var/lib/passvol/disks'));
});

test('node DaemonSets on the host network use distinct ports', () => {
  const ports = [];
  for (const driver of ['disk', 'nas']) {
    const pod = find('DaemonSet', `passvol-${driver}-node`).spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    for (const c of pod.containers) for (const p of c.ports ?? []) ports.push(p.containerPort);
  }
  assert.equal(new Set(ports).size, ports.length, `host ports collide: ${ports.join(', ')}`);
});

test('StorageClasses: four, with the documented parameters', () => {
  const classes = rendered().filter((o) => o.kind === 'StorageClass');
  assert.deepEqual(classes.map((o) => o.metadata.name).sort(), [
    'passvol-disk', 'passvol-disk-passthrough', 'passvol-nas', 'passvol-nas-passthrough',
  ]);

  const disk = find('StorageClass', 'passvol-disk');
  assert.equal(disk.provisioner, DISK);
  assert.equal(disk.parameters['csi.storage.k8s.io/fstype'], 'ext4');
  assert.equal(disk.allowVolumeExpansion, true);
  assert.equal(disk.volumeBindingMode, 'WaitForFirstConsumer');
  assert.equal(disk.parameters.passthrough, undefined);

  const diskPt = find('StorageClass', 'passvol-disk-passthrough');
  assert.equal(diskPt.provisioner, DISK);
  assert.deepEqual(diskPt.parameters, { passthrough: 'true', 'csi.storage.k8s.io/fstype': 'ext4' });

  const nasParams = {
    server: 'nfs.example.internal',
    share: '/exports',
    subDir: SUBDIR_TEMPLATE,
    onDelete: 'retain',
    nfsVersion: '4.1',
  };
  const nas = find('StorageClass', 'passvol-nas');
  assert.equal(nas.provisioner, NAS);
  assert.deepEqual(nas.parameters, nasParams);
  const nasPt = find('StorageClass', 'passvol-nas-passthrough');
  assert.equal(nasPt.provisioner, NAS);
  assert.deepEqual(nasPt.parameters, { ...nasParams, passthrough: 'true' });
  // NFS folders have no size and the NAS driver cannot expand them.
  for (const sc of [nas, nasPt]) assert.notEqual(sc.allowVolumeExpansion, true, `${sc.metadata.name}: allowVolumeExpansion`);
});

test('RBAC: sidecar and node permissions the driver needs', () => {
  const rules = (name) => find('ClusterRole', name).rules;
  const allows = (ruleList, group, resource, verb) =>
    ruleList.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  const prov = rules('passvol-external-provisioner');
  for (const verb of ['create', 'delete', 'get', 'list', 'watch']) assert.ok(allows(prov, '', 'persistentvolumes', verb), `pv ${verb}`);
  assert.ok(allows(prov, '', 'persistentvolumeclaims', 'update'));
  assert.ok(allows(prov, 'snapshot.storage.k8s.io', 'volumesnapshots', 'get'));
  assert.ok(allows(prov, 'storage.k8s.io', 'csinodes', 'watch'));
  assert.ok(allows(rules('passvol-external-attacher'), 'storage.k8s.io', 'volumeattachments/status', 'patch'));
  assert.ok(allows(rules('passvol-external-resizer'), '', 'persistentvolumeclaims/status', 'patch'));
  assert.ok(allows(rules('passvol-external-snapshotter'), 'snapshot.storage.k8s.io', 'volumesnapshotcontents/status', 'update'));
  assert.ok(allows(find('Role', 'passvol-controller-leader-election').rules, 'coordination.k8s.io', 'leases', 'update'));
  const node = rules('passvol-node');
  for (const res of ['pods', 'persistentvolumeclaims', 'persistentvolumes', 'nodes']) assert.ok(allows(node, '', res, 'get'), res);

  for (const b of rendered().filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    find(b.roleRef.kind, b.roleRef.name);
    for (const s of b.subjects) {
      assert.equal(s.namespace, NAMESPACE, `${id(b)}: subject namespace`);
      find('ServiceAccount', s.name);
    }
  }
});

test('every flag the manifests give passvol is one `passvol csi serve` knows', () => {
  const help = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'csi', 'serve', '--help'], { encoding: 'utf8', cwd: ROOT });
  const known = new Set([...help.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
  const unknown = [];
  for (const kind of ['Deployment', 'DaemonSet']) {
    for (const o of rendered().filter((x) => x.kind === kind)) {
      for (const c of o.spec.template.spec.containers.filter((x) => x.name === 'passvol')) {
        for (const a of c.args ?? []) {
          const flag = /^(--[a-z][a-z-]*)/.exec(a)?.[1];
          if (flag && !known.has(flag)) unknown.push(`${o.metadata.name}: ${flag}`);
        }
      }
    }
  }
  assert.deepEqual(unknown, []);
});

test('every passvol container runs with the Node flags the benchmark measured the driver with', async () => {
  const { DRIVER_NODE_OPTIONS } = await import('../../src/csi/driver-node-options.ts');
  const wrong = [];
  for (const kind of ['Deployment', 'DaemonSet']) {
    for (const o of rendered().filter((x) => x.kind === kind)) {
      for (const c of o.spec.template.spec.containers.filter((x) => x.name === 'passvol')) {
        const value = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
        if (value !== DRIVER_NODE_OPTIONS) wrong.push(`${o.metadata.name}: ${value}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('disk pool: the controller and the node plugin share one pool folder on the labelled node; the controller can attach', () => {
  const ctl = find('Deployment', 'passvol-disk-controller').spec.template.spec;
  const node = find('DaemonSet', 'passvol-disk-node').spec.template.spec;
  const poolOf = (pod) => {
    const c = pod.containers.find((x) => x.name === 'passvol');
    const flag = c.args.find((a) => a.startsWith('--disk-pool-dir='))?.split('=')[1];
    // The host folder behind the flag's path: the mount that holds it, and the rest of the path below it.
    const mount = c.volumeMounts.filter((m) => flag === m.mountPath || flag?.startsWith(`${m.mountPath}/`)).sort((x, y) => y.mountPath.length - x.mountPath.length)[0];
    const vol = pod.volumes.find((v) => v.name === mount?.name);
    const host = vol?.hostPath ? `${vol.hostPath.path}${flag.slice(mount.mountPath.length)}` : undefined;
    return { flag, host, privileged: c.securityContext?.privileged === true, dev: c.volumeMounts.some((m) => m.mountPath === '/dev') };
  };
  const a = poolOf(ctl);
  const b = poolOf(node);
  // The controller sees the node plugin's mounts: a disk in use is not deleted, and a mounted one is frozen for a snapshot.
  const kubelet = ctl.containers.find((x) => x.name === 'passvol').volumeMounts.find((m) => m.mountPath === '/var/lib/kubelet');
  assert.equal(kubelet?.mountPropagation, 'HostToContainer');
  assert.equal(ctl.volumes.find((v) => v.name === kubelet.name)?.hostPath?.path, '/var/lib/kubelet');
  assert.ok(a.flag && a.host, 'the controller names its pool folder and mounts it from the host');
  assert.equal(a.host, b.host, 'one pool folder for both');
  assert.ok(a.privileged && a.dev, 'losetup needs a privileged container with /dev');
  assert.equal(ctl.nodeSelector['passvol.io/disk-pool'], 'true');
});

test("the passvol RuntimeClass is one whose pods both drivers pass volumes through by default", async () => {
  const { defaultRuntimeClasses } = await import('../../src/csi/passthrough/decide.ts');
  const rc = find('RuntimeClass', 'passvol');
  assert.equal(rc.handler, 'passvol', "the handler names containerd's runtimes.passvol (docs/containerd.md)");
  for (const driver of ['disk', 'nas']) assert.ok(defaultRuntimeClasses(driver).includes(rc.metadata.name), driver);
  assert.deepEqual(rc.scheduling.nodeSelector, { 'passvol.io/runtime': 'true' });
});
