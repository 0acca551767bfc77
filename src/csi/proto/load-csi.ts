/**
 * Loads passvol's CSI v1.9.0 protobuf definition (csi.proto beside this
 * file) into @grpc/grpc-js service definitions.
 *
 * No includeDirs are needed: csi.proto only imports
 * google/protobuf/{wrappers,timestamp}.proto, and protobufjs (used by
 * @grpc/proto-loader) serves those well-known types from its bundled
 * copies before it ever touches the file system.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Protobuf package name declared in csi.proto. */
export const CSI_PACKAGE = 'csi.v1';

/** CSI spec version the bundled csi.proto transcribes. */
export const CSI_SPEC_VERSION = '1.9.0';

/**
 * Options handed to @grpc/proto-loader. Field names keep their
 * snake_case spelling, int64 values become JS numbers, enums are their
 * string names, unset scalars get proto3 defaults, and each oneof gets a
 * virtual field naming the member that is set.
 */
export const CSI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/**
 * Where csi.proto may live relative to this module: beside it (running
 * from src/ via tsx), or back in the source tree when this module runs
 * from tsc output at dist/csi/proto/ (tsc does not copy .proto files).
 */
function candidateProtoPaths(): string[] {
  return [
    fileURLToPath(new URL('./csi.proto', import.meta.url)),
    fileURLToPath(new URL('../../../src/csi/proto/csi.proto', import.meta.url)),
  ];
}

/** Absolute path of the csi.proto this module will load. */
export function resolveCsiProtoPath(): string {
  const candidates = candidateProtoPaths();
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(`csi.proto not found; looked in: ${candidates.join(', ')}`);
  }
  return found;
}

export interface CsiPackage {
  /** Absolute path of the loaded csi.proto. */
  protoPath: string;
  /** Raw proto-loader output, keyed by fully-qualified name ("csi.v1.Volume"). */
  packageDefinition: protoLoader.PackageDefinition;
  /** The `csi.v1` namespace object from grpc.loadPackageDefinition. */
  pkg: grpc.GrpcObject;
  Identity: grpc.ServiceDefinition;
  Controller: grpc.ServiceDefinition;
  Node: grpc.ServiceDefinition;
  /** Alpha in CSI v1.9.0; included for completeness. */
  GroupController: grpc.ServiceDefinition;
}

function isServiceClientConstructor(value: unknown): value is grpc.ServiceClientConstructor {
  return (
    typeof value === 'function' &&
    typeof (value as Partial<grpc.ServiceClientConstructor>).service === 'object'
  );
}

function lookupNamespace(root: grpc.GrpcObject, dotted: string): grpc.GrpcObject {
  let node: grpc.GrpcObject = root;
  for (const part of dotted.split('.')) {
    const next = node[part];
    if (next === undefined || typeof next !== 'object' || 'format' in next) {
      throw new Error(`package ${dotted} not found in loaded CSI definition`);
    }
    node = next as grpc.GrpcObject;
  }
  return node;
}

function serviceOf(pkg: grpc.GrpcObject, name: string): grpc.ServiceDefinition {
  const ctor = pkg[name];
  if (!isServiceClientConstructor(ctor)) {
    throw new Error(`service ${CSI_PACKAGE}.${name} not found in loaded CSI definition`);
  }
  return ctor.service;
}

let cached: CsiPackage | undefined;

/**
 * Load (once per process) the CSI package and return the service
 * definitions ready for `server.addService(...)`.
 */
export function loadCsiPackage(): CsiPackage {
  if (cached !== undefined) return cached;
  const protoPath = resolveCsiProtoPath();
  const packageDefinition = protoLoader.loadSync(protoPath, CSI_LOADER_OPTIONS);
  const pkg = lookupNamespace(grpc.loadPackageDefinition(packageDefinition), CSI_PACKAGE);
  cached = {
    protoPath,
    packageDefinition,
    pkg,
    Identity: serviceOf(pkg, 'Identity'),
    Controller: serviceOf(pkg, 'Controller'),
    Node: serviceOf(pkg, 'Node'),
    GroupController: serviceOf(pkg, 'GroupController'),
  };
  return cached;
}
