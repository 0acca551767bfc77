// Just enough ELF reading to tell a static executable (no PT_INTERP) from a dynamic one: the initramfs
// has no libc, so its busybox must be the static build.

const PT_INTERP = 3;

export function isElf(b: Buffer): boolean {
  return b.length >= 64 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

/** True for a 64-bit little-endian ELF without an interpreter. */
export function isStaticElf64(b: Buffer): boolean {
  if (!isElf(b) || b[4] !== 2 || b[5] !== 1) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > b.length) return false;
    if (b.readUInt32LE(at) === PT_INTERP) return false;
  }
  return true;
}
