import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../../common/errors.js';
import { DEFAULT_SUBDIR_TEMPLATE, renderSubDir, validateSubDirTemplate } from './subdir-template.js';

const values = { pvName: 'pvc-1b2c', pvcName: 'data', pvcNamespace: 'team-a' };
const invalid = (re: RegExp) => (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && re.test(e.message);

test('substitutes the three variables', () => {
  assert.equal(renderSubDir('${pvc.metadata.namespace}/${pvc.metadata.name}', values), 'team-a/data');
  assert.equal(renderSubDir('${pvc.metadata.namespace}-${pvc.metadata.name}-${pv.metadata.name}', values), 'team-a-data-pvc-1b2c');
  assert.equal(renderSubDir('static/dir', values), 'static/dir');
});

test('the default template is the PV name', () => {
  assert.equal(DEFAULT_SUBDIR_TEMPLATE, '${pv.metadata.name}');
  assert.equal(renderSubDir(undefined, values), 'pvc-1b2c');
  assert.equal(renderSubDir(undefined, { pvName: 'pvc-only' }), 'pvc-only');
});

test('unknown variables and unclosed ${ are refused, naming the parameter', () => {
  assert.throws(() => renderSubDir('${pvc.metadata.uid}', values), invalid(/parameter subDir: unknown variable \$\{pvc\.metadata\.uid\}/));
  assert.throws(() => renderSubDir('${}', values), invalid(/unknown variable/));
  assert.throws(() => renderSubDir('a-${pv.metadata.name', values), invalid(/without a closing/));
  assert.throws(() => validateSubDirTemplate('${env.HOME}'), invalid(/subDir/));
});

test('results that leave the export, start at its root, or are empty are refused', () => {
  assert.throws(() => renderSubDir('../${pv.metadata.name}', values), invalid(/clean relative path/));
  assert.throws(() => renderSubDir('a/../../b', values), invalid(/clean relative path/));
  assert.throws(() => renderSubDir('/${pv.metadata.name}', values), invalid(/must not start with \//));
  assert.throws(() => renderSubDir('', values), invalid(/must not be empty/));
  assert.throws(() => renderSubDir('a//b', values), invalid(/clean relative path/));
  assert.throws(() => renderSubDir('${pvc.metadata.name}', { pvName: 'p', pvcName: '..' }), invalid(/gives "\.\."/));
  assert.throws(() => validateSubDirTemplate('../x'), invalid(/subDir/));
  assert.throws(() => validateSubDirTemplate('x/'), invalid(/subDir/));
});

test('a PVC variable without PVC facts says how to get them', () => {
  assert.throws(() => renderSubDir('${pvc.metadata.name}', { pvName: 'p' }), invalid(/--extra-create-metadata/));
});

test('validation passes good templates', () => {
  validateSubDirTemplate('${pvc.metadata.namespace}/${pvc.metadata.name}');
  validateSubDirTemplate('volumes/${pv.metadata.name}');
});
