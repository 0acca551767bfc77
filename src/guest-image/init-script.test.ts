import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renderInitScript } from './init-script.js';

test('/init mounts the API filesystems, finds the agent disk by serial, and respawns the agent', () => {
  const s = renderInitScript();
  assert.ok(s.startsWith('#!/bin/sh\n'));
  assert.match(s, /mount -t devtmpfs/);
  assert.match(s, /load_modules boot\n/);
  // In the background, in order: shares and NFS modules, the network, the network mark; xfs; the last mark.
  assert.match(s, /\nsh -c 'load\(\) [^']*\n {2}load late\n[^']*10\.0\.2\.15\/24 dev eth0[^']*\n {2}touch \/run\/passvol-init\/network-ready;[^']*\n {2}load rest\n {2}touch \/run\/passvol-init\/modules-ready;[^']*' &\nrenice -n 10 -p \$! /);
  assert.match(s, /= "passvol-agent" \]/);
  assert.match(s, /mount -t ext4 -o ro,nosuid,nodev "\$dev" \/passvol/);
  assert.match(s, /passvol\.accel=tcg\|passvol\.accel=kvm\) accel=/);
  assert.match(s, /\nsnapshot=\/agent\/agent-\$accel\.blob\n/);
  assert.match(s, /while :; do[\s\S]*\/usr\/bin\/node --snapshot-blob "\$snapshot" --; else \/usr\/bin\/node \/agent\/agent\.mjs; fi[\s\S]*done/);
  assert.throws(() => renderInitScript({ agentSerial: 'bad serial; rm -rf /' }));
});

test('/init is valid shell', () => {
  execFileSync('sh', ['-n'], { input: renderInitScript() });
});
