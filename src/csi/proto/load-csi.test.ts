import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CSI_PACKAGE, loadCsiPackage, resolveCsiProtoPath } from './load-csi.js';

// Minimal views of the descriptor objects proto-loader attaches to each
// top-level message / enum of the package definition. Nested messages and
// enums have no entry of their own: they sit in nestedType / enumType.
interface FieldDesc {
  name: string;
  number: number;
  typeName?: string;
}
interface EnumDesc {
  name: string;
  value: { name: string; number: number }[];
}
interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  enumType: EnumDesc[];
}
interface Codec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): Record<string, unknown>;
}

function topLevel(name: string): { type: object } & Partial<Codec> {
  const def = loadCsiPackage().packageDefinition[`${CSI_PACKAGE}.${name}`];
  assert.ok(def !== undefined, `${name} is defined`);
  assert.ok('type' in def, `${name} is a message or enum`);
  return def as { type: object } & Partial<Codec>;
}

/** Descriptor of a (possibly nested) message, e.g. "VolumeCapability.MountVolume". */
function message(dotted: string): MessageDesc {
  const [head, ...rest] = dotted.split('.');
  let desc = topLevel(head ?? '').type as MessageDesc;
  for (const part of rest) {
    const next = desc.nestedType.find((n) => n.name === part);
    assert.ok(next !== undefined, `${dotted}: nested message ${part} exists`);
    desc = next;
  }
  return desc;
}

function codec(name: string): Codec {
  const def = topLevel(name);
  assert.ok(def.serialize !== undefined && def.deserialize !== undefined, `${name} is a message`);
  return def as unknown as Codec;
}

function fieldNumber(msg: string, field: string): number {
  const f = message(msg).field.find((x) => x.name === field);
  assert.ok(f !== undefined, `${msg}.${field} exists`);
  return f.number;
}

/** Number of a value of a nested enum, e.g. ("VolumeCapability.AccessMode.Mode", "SINGLE_NODE_WRITER"). */
function enumValue(dotted: string, value: string): number {
  const cut = dotted.lastIndexOf('.');
  const owner = message(dotted.slice(0, cut));
  const en = owner.enumType.find((e) => e.name === dotted.slice(cut + 1));
  assert.ok(en !== undefined, `${dotted} exists`);
  const v = en.value.find((x) => x.name === value);
  assert.ok(v !== undefined, `${dotted}.${value} exists`);
  return v.number;
}

/** Value of the virtual oneof field after a round trip of `value`. */
function oneofMarker(msg: string, oneof: string, value: object): unknown {
  const c = codec(msg);
  return c.deserialize(c.serialize(value))[oneof];
}

test('csi.proto is found beside the loader when running from src', () => {
  const p = resolveCsiProtoPath();
  assert.ok(p.endsWith(path.join('src', 'csi', 'proto', 'csi.proto')), p);
  assert.equal(loadCsiPackage().protoPath, p);
});

test('services carry every v1.9.0 RPC with csi.v1 paths', () => {
  const { Identity, Controller, Node, GroupController, pkg } = loadCsiPackage();
  assert.deepEqual(Object.keys(Identity).sort(), ['GetPluginCapabilities', 'GetPluginInfo', 'Probe']);
  assert.deepEqual(Object.keys(Controller).sort(), [
    'ControllerExpandVolume',
    'ControllerGetCapabilities',
    'ControllerGetVolume',
    'ControllerModifyVolume',
    'ControllerPublishVolume',
    'ControllerUnpublishVolume',
    'CreateSnapshot',
    'CreateVolume',
    'DeleteSnapshot',
    'DeleteVolume',
    'GetCapacity',
    'ListSnapshots',
    'ListVolumes',
    'ValidateVolumeCapabilities',
  ]);
  assert.deepEqual(Object.keys(Node).sort(), [
    'NodeExpandVolume',
    'NodeGetCapabilities',
    'NodeGetInfo',
    'NodeGetVolumeStats',
    'NodePublishVolume',
    'NodeStageVolume',
    'NodeUnpublishVolume',
    'NodeUnstageVolume',
  ]);
  assert.deepEqual(Object.keys(GroupController).sort(), [
    'CreateVolumeGroupSnapshot',
    'DeleteVolumeGroupSnapshot',
    'GetVolumeGroupSnapshot',
    'GroupControllerGetCapabilities',
  ]);
  assert.equal(Controller['CreateVolume']?.path, '/csi.v1.Controller/CreateVolume');
  assert.equal(Node['NodeStageVolume']?.path, '/csi.v1.Node/NodeStageVolume');
  assert.equal(Identity['Probe']?.path, '/csi.v1.Identity/Probe');
  for (const svc of [Identity, Controller, Node, GroupController]) {
    for (const m of Object.values(svc)) {
      assert.equal(m.requestStream, false);
      assert.equal(m.responseStream, false);
    }
  }
  assert.equal(typeof pkg['Controller'], 'function');
});

test('field numbers match the spec', () => {
  assert.equal(fieldNumber('CreateVolumeRequest', 'name'), 1);
  assert.equal(fieldNumber('CreateVolumeRequest', 'parameters'), 4);
  assert.equal(fieldNumber('CreateVolumeRequest', 'secrets'), 5);
  assert.equal(fieldNumber('CreateVolumeRequest', 'accessibility_requirements'), 7);
  assert.equal(fieldNumber('CreateVolumeRequest', 'mutable_parameters'), 8);
  assert.equal(fieldNumber('NodePublishVolumeRequest', 'staging_target_path'), 3);
  assert.equal(fieldNumber('NodePublishVolumeRequest', 'target_path'), 4);
  assert.equal(fieldNumber('NodePublishVolumeRequest', 'readonly'), 6);
  assert.equal(fieldNumber('NodePublishVolumeRequest', 'secrets'), 7);
  assert.equal(fieldNumber('NodePublishVolumeRequest', 'volume_context'), 8);
  assert.equal(fieldNumber('NodeStageVolumeRequest', 'staging_target_path'), 3);
  assert.equal(fieldNumber('NodeExpandVolumeRequest', 'secrets'), 6);
  assert.equal(fieldNumber('ControllerPublishVolumeRequest', 'node_id'), 2);
  assert.equal(fieldNumber('Volume', 'accessible_topology'), 5);
  assert.equal(fieldNumber('Snapshot', 'group_snapshot_id'), 6);
  assert.equal(fieldNumber('NodeGetInfoResponse', 'max_volumes_per_node'), 2);
  assert.equal(fieldNumber('VolumeCapability.MountVolume', 'volume_mount_group'), 3);
  assert.equal(fieldNumber('ControllerModifyVolumeRequest', 'mutable_parameters'), 3);
});

test('well-known wrapper and timestamp types are used where the spec uses them', () => {
  const typeOf = (msg: string, field: string): string | undefined =>
    message(msg).field.find((f) => f.name === field)?.typeName;
  assert.equal(typeOf('ProbeResponse', 'ready'), 'google.protobuf.BoolValue');
  assert.equal(typeOf('GetCapacityResponse', 'maximum_volume_size'), 'google.protobuf.Int64Value');
  assert.equal(typeOf('GetCapacityResponse', 'minimum_volume_size'), 'google.protobuf.Int64Value');
  assert.equal(typeOf('Snapshot', 'creation_time'), 'google.protobuf.Timestamp');
  assert.equal(typeOf('VolumeGroupSnapshot', 'creation_time'), 'google.protobuf.Timestamp');
});

test('enum values match the spec', () => {
  const mode = 'VolumeCapability.AccessMode.Mode';
  assert.equal(enumValue(mode, 'MULTI_NODE_MULTI_WRITER'), 5);
  assert.equal(enumValue(mode, 'SINGLE_NODE_SINGLE_WRITER'), 6);
  assert.equal(enumValue(mode, 'SINGLE_NODE_MULTI_WRITER'), 7);
  const ctrl = 'ControllerServiceCapability.RPC.Type';
  assert.equal(enumValue(ctrl, 'EXPAND_VOLUME'), 9);
  assert.equal(enumValue(ctrl, 'LIST_VOLUMES_PUBLISHED_NODES'), 10);
  assert.equal(enumValue(ctrl, 'MODIFY_VOLUME'), 14);
  const node = 'NodeServiceCapability.RPC.Type';
  assert.equal(enumValue(node, 'STAGE_UNSTAGE_VOLUME'), 1);
  assert.equal(enumValue(node, 'VOLUME_MOUNT_GROUP'), 6);
  assert.equal(enumValue('PluginCapability.Service.Type', 'GROUP_CONTROLLER_SERVICE'), 3);
  assert.equal(enumValue('PluginCapability.VolumeExpansion.Type', 'OFFLINE'), 2);
});

test('oneofs match the spec', () => {
  const access = { access_mode: { mode: 'SINGLE_NODE_WRITER' } };
  assert.equal(oneofMarker('VolumeCapability', 'access_type', { ...access, block: {} }), 'block');
  assert.equal(oneofMarker('VolumeCapability', 'access_type', { ...access, mount: {} }), 'mount');
  assert.equal(oneofMarker('VolumeCapability', 'access_type', access), undefined);
  assert.equal(oneofMarker('VolumeContentSource', 'type', { snapshot: { snapshot_id: 's' } }), 'snapshot');
  assert.equal(oneofMarker('VolumeContentSource', 'type', { volume: { volume_id: 'v' } }), 'volume');
  assert.equal(oneofMarker('PluginCapability', 'type', { service: { type: 'CONTROLLER_SERVICE' } }), 'service');
  assert.equal(oneofMarker('PluginCapability', 'type', { volume_expansion: { type: 'ONLINE' } }), 'volume_expansion');
  assert.equal(oneofMarker('ControllerServiceCapability', 'type', { rpc: { type: 'CREATE_DELETE_VOLUME' } }), 'rpc');
  assert.equal(oneofMarker('NodeServiceCapability', 'type', { rpc: { type: 'STAGE_UNSTAGE_VOLUME' } }), 'rpc');
});

test('wire bytes match a hand-encoded NodeUnpublishVolumeRequest', () => {
  // field 1 (volume_id) = "v", field 2 (target_path) = "/t"
  const bytes = codec('NodeUnpublishVolumeRequest').serialize({ volume_id: 'v', target_path: '/t' });
  assert.deepEqual([...bytes], [0x0a, 0x01, 0x76, 0x12, 0x02, 0x2f, 0x74]);
});

test('round trip honours keepCase, longs as numbers, string enums and oneof markers', () => {
  const c = codec('CreateVolumeRequest');
  const decoded = c.deserialize(
    c.serialize({
      name: 'pvc-1',
      capacity_range: { required_bytes: 10 * 2 ** 30 },
      volume_capabilities: [
        { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      ],
      parameters: { type: 'ssd' },
      secrets: { token: 's3cr3t' },
    }),
  );
  assert.equal(decoded['name'], 'pvc-1');
  assert.deepEqual(decoded['capacity_range'], { required_bytes: 10 * 2 ** 30, limit_bytes: 0 });
  assert.deepEqual(decoded['parameters'], { type: 'ssd' });
  assert.deepEqual(decoded['secrets'], { token: 's3cr3t' });
  assert.deepEqual(decoded['mutable_parameters'], {});
  const caps = decoded['volume_capabilities'] as Record<string, unknown>[];
  assert.equal(caps.length, 1);
  assert.equal(caps[0]?.['access_type'], 'mount');
  assert.deepEqual(caps[0]?.['access_mode'], { mode: 'SINGLE_NODE_WRITER' });

  const cap = codec('GetCapacityResponse');
  const capOut = cap.deserialize(cap.serialize({ available_capacity: 5, maximum_volume_size: { value: 1024 } }));
  assert.equal(capOut['available_capacity'], 5);
  assert.deepEqual(capOut['maximum_volume_size'], { value: 1024 });
  assert.equal(capOut['minimum_volume_size'], null);

  const probe = codec('ProbeResponse');
  assert.deepEqual(probe.deserialize(probe.serialize({ ready: { value: true } }))['ready'], { value: true });
  assert.equal(probe.deserialize(probe.serialize({}))['ready'], null);
});
