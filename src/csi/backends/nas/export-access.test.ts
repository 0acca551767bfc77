import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../../common/errors.js';
import { ExportAccessResolver, archiveNameFor, parseLocalPathMapping, type ExportAccess } from './export-access.js';

const invalid = (re: RegExp) => (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && re.test(e.message);

test('archive names flatten the folder and add a UTC time', () => {
  const at = new Date('2026-11-23T08:21:36.123Z');
  assert.equal(archiveNameFor('team-a/data', at), 'archived-team-a-data-20261123T082136Z');
  const long = archiveNameFor(`${'x'.repeat(200)}/${'y'.repeat(200)}`, at);
  assert.ok(Buffer.byteLength(long) <= 255, long);
  assert.match(long, /^archived-x+-[0-9a-f]{12}-20261123T082136Z$/);
});

test('--nas-local-path mappings', () => {
  assert.deepEqual(parseLocalPathMapping('127.0.0.1:/export=/var/lib/passvol/nas'), { server: '127.0.0.1', share: '/export', localDir: '/var/lib/passvol/nas' });
  assert.deepEqual(parseLocalPathMapping('[fd00::1]:/=/mnt/nas/'), { server: '[fd00::1]', share: '/', localDir: '/mnt/nas' });
  assert.throws(() => parseLocalPathMapping('127.0.0.1:/export'), invalid(/server:\/share=\/local\/dir/));
  assert.throws(() => parseLocalPathMapping('/export=/x'), invalid(/server:\/share=\/local\/dir/));
  assert.throws(() => parseLocalPathMapping('h:/export=relative'), invalid(/local folder "relative" must be an absolute path/));
  assert.throws(() => parseLocalPathMapping('h:/a/../b=/x'), invalid(/share/));
});

test('the resolver picks the longest local mapping that covers the export, else the fallback', () => {
  const made: string[] = [];
  const fake = (d: string): ExportAccess => {
    made.push(d);
    return { description: d } as ExportAccess;
  };
  const r = new ExportAccessResolver(
    [parseLocalPathMapping('nas:/export=/srv/e'), parseLocalPathMapping('nas:/export/team=/srv/t'), parseLocalPathMapping('root:/=/srv/r')],
    (dir) => fake(`local ${dir}`),
    (server, share) => fake(`mount ${server}:${share}`),
  );
  assert.equal(r.forExport('nas', '/export').description, 'local /srv/e');
  assert.equal(r.forExport('nas', '/export/a/b').description, 'local /srv/e/a/b');
  assert.equal(r.forExport('NAS', '/export/team/x').description, 'local /srv/t/x');
  assert.equal(r.forExport('nas', '/exported').description, 'mount nas:/exported');
  assert.equal(r.forExport('root', '/deep/dir').description, 'local /srv/r/deep/dir');
  assert.equal(r.forExport('other', '/export').description, 'mount other:/export');
  r.forExport('nas', '/export');
  assert.equal(made.filter((m) => m === 'local /srv/e').length, 1, 'one access per export');
});
