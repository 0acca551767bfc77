// A sandbox id names an empty file inside the record directory, so it must be a safe file name.
import { invalidArgument } from '../common/errors.js';
import { MOUNT_INFO_FILE } from './mount-info.js';

const SANDBOX_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

export function isValidSandboxId(id: string): boolean {
  return SANDBOX_ID_PATTERN.test(id) && id !== MOUNT_INFO_FILE;
}

export function validateSandboxId(id: string): string {
  if (!isValidSandboxId(id)) {
    throw invalidArgument(
      `sandbox id "${id}" is not allowed: use 1-128 characters from A-Z a-z 0-9 _ . + -, starting with a letter or digit`,
    );
  }
  return id;
}
