// The nfs-ganesha configuration of the embedded NFS server: one folder, loopback only, NFSv3 and v4.x.
import { invalidArgument } from '../../../common/errors.js';

export interface GaneshaConfigInput {
  bindAddress: string;
  nfsPort: number;
  mountPort: number;
  exportDir: string;
  /** The path clients mount; Mount_Path_Pseudo makes v3 use it too, so one share works for every version. */
  pseudoPath: string;
  recoveryDir: string;
}

/** Ganesha's config quotes paths with "; refuse what it could not quote rather than escape it. */
function quoted(path: string, what: string): string {
  if (!path.startsWith('/') || /["\\\n\r\0;{}]/.test(path)) throw invalidArgument(`${what} "${path}" must be an absolute path without quotes, backslashes, braces, ";" or line breaks`);
  return `"${path}"`;
}

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalidArgument(`${what} ${n} is not a TCP port`);
  return n;
}

export function ganeshaConfig(c: GaneshaConfigInput): string {
  return `# Written by passvol (embedded NFS server); rewritten on every start.
NFS_CORE_PARAM {
  Bind_addr = ${c.bindAddress};
  NFS_Port = ${port(c.nfsPort, 'NFS port')};
  MNT_Port = ${port(c.mountPort, 'MNT port')};
  # No NLM (v3 clients mount with nolock) and no rquota: fewer daemons, fewer ports.
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Protocols = 3, 4;
  Mount_Path_Pseudo = true;
}
NFS_KRB5 {
  Active_krb5 = false;
}
NFSV4 {
  # Client records for reclaim after a restart. Grace ends as soon as every recorded client has reclaimed;
  # a short lease bounds the wait when one never comes back (a sandbox that is gone): 20 s, not 90.
  RecoveryBackend = fs;
  Lease_Lifetime = 15;
  Grace_Period = 20;
  RecoveryRoot = ${quoted(c.recoveryDir, 'recovery folder')};
}
EXPORT {
  Export_Id = 1;
  Path = ${quoted(c.exportDir, 'export folder')};
  Pseudo = ${quoted(c.pseudoPath, 'pseudo path')};
  Access_Type = RW;
  # The sandbox agent mounts as root and creates the volume's files; squashing would make them nobody's.
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 3, 4;
  Transports = TCP;
  # The controller changes the folder behind ganesha's back: never answer from stale cached attributes.
  Attr_Expiration_Time = 0;
  FSAL {
    Name = VFS;
  }
}
`;
}
