// Parameter validation: wrong values fail the synth with the key named.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { parseParams } from '../lib/params';
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { CLOUD_DIR, consoleRoleResources, consoleRoleStatements, loadIotPolicy } from '../lib/policy-files';

const base = {
  account: '123456789012', cognitoDomainPrefix: 'amr-console', callbackUrls: ['https://c.example.jp/'],
  logoutUrls: ['https://c.example.jp/'], thingNames: ['AMR-001'],
};

describe('parameters', () => {
  it('defaults', () => {
    const p = parseParams(base, 'f.json');
    assert.equal(p.region, 'ap-northeast-1');
    assert.deepEqual(p.geoAllowCountries, ['JP']);
    assert.deepEqual(p.allowedIpCidrs, []);
    assert.equal(p.logRetentionDays, 90);
    assert.equal(p.consoleDir, '../client/public');
    assert.deepEqual(p.fleetClaimCertificateIds, [], 'per-device claim certificates only, unless asked for');
  });
  for (const [name, over, msg] of [
    ['short account', { account: '123' }, /f.json: "account" must be a 12-digit/],
    ['other region', { region: 'us-east-1' }, /"region" must be ap-northeast-1/],
    ['http redirect', { callbackUrls: ['http://c.example.jp/'] }, /"callbackUrls\[0\]" must be https URLs/],
    ['wildcard redirect', { callbackUrls: ['https://*.example.jp/'] }, /"callbackUrls\[0\]"/],
    ['no redirect', { callbackUrls: [] }, /"callbackUrls" must be a list of at least 1/],
    ['bad CIDR', { allowedIpCidrs: ['10.0.0.0/33'] }, /"allowedIpCidrs\[0\]"/],
    ['bad retention', { logRetentionDays: 100 }, /"logRetentionDays" must be one of/],
    ['typo key', { thingName: ['x'] }, /"thingName" is not a known parameter/],
    ['domain without certificate', { consoleDomainName: 'c.example.jp' }, /must be given together/],
    ['thing with slash', { thingNames: ['a/b'] }, /"thingNames\[0\]"/],
    ['fleet claim id not a certificate id', { fleetClaimCertificateIds: ['AMR-001'] }, /"fleetClaimCertificateIds\[0\]" must be AWS IoT certificate ids/],
    ['redirect not a logout URL', { logoutUrls: ['https://other.example.jp/'] },
      /"logoutUrls" must include callbackUrls\[0\] \(https:\/\/c.example.jp\/\): the console signs out to it/],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => parseParams({ ...base, ...over }, 'f.json'), msg));
  }
  it('allows http only for localhost', () => {
    const local = ['http://localhost:8080/'];
    assert.deepEqual(parseParams({ ...base, callbackUrls: local, logoutUrls: local }, 'f').callbackUrls, local);
  });
});

describe('browser role mapping of console.json', () => {
  const a = 'arn:aws:iot:ap-northeast-1:123456789012:';
  it('maps each console.json resource to the configured things', () => {
    assert.deepEqual(consoleRoleResources(`${a}topic/amr/*`, ['A', 'B']), [`${a}topic/amr/A/*`, `${a}topic/amr/B/*`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/amr/*/cmd/call`, ['A']), [`${a}topic/amr/A/cmd/call`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/$aws/events/presence/*`, ['A']), [`${a}topic/$aws/events/presence/*/A`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/$aws/things/*/shadow/name/robot/get`, ['A']), [`${a}topic/$aws/things/A/shadow/name/robot/get`]);
    assert.deepEqual(consoleRoleResources(`${a}client/console-*`, ['A']), [`${a}client/console-\${cognito-identity.amazonaws.com:sub}-*`]);
  });
  it('subscribes only with the fleet view\'s wildcard filters; what arrives stays per thing (iot:Receive)', () => {
    const filters = (rest: string) => consoleRoleResources(`${a}topicfilter/${rest}`, ['A', 'B']).map((r) => r.slice(`${a}topicfilter/`.length));
    assert.deepEqual(filters('amr/*'), ['amr/+/status', 'amr/+/heartbeat', 'amr/+/cmd/result']);
    assert.deepEqual(filters('$aws/things/*/shadow/name/robot/*'), [
      '$aws/things/+/shadow/name/robot/get/accepted', '$aws/things/+/shadow/name/robot/get/rejected',
      '$aws/things/+/shadow/name/robot/update/documents']);
    assert.deepEqual(filters('$aws/events/presence/*'), ['$aws/events/presence/connected/+', '$aws/events/presence/disconnected/+']);
    // However many things: the role's size does not grow with the fleet on the subscribe side.
    assert.equal(consoleRoleResources(`${a}topicfilter/amr/*`, Array.from({ length: 1000 }, (_, i) => `AMR-${i}`)).length, 3);
    assert.deepEqual(consoleRoleResources(`${a}topic/amr/*`, ['A', 'B']), [`${a}topic/amr/A/*`, `${a}topic/amr/B/*`]);
  });
  it('the role\'s filters are exactly those the console subscribes with (client/public/js/fleet.js)', () => {
    const sandbox: { IotConsole?: { fleet: { FILTERS: string[] } } } = {};
    vm.runInNewContext(fs.readFileSync(path.join(CLOUD_DIR, '..', 'client', 'public', 'js', 'fleet.js'), 'utf8'), sandbox);
    const consoleFilters = [...sandbox.IotConsole!.fleet.FILTERS].sort();
    const role = consoleRoleStatements(loadIotPolicy('console', 'ap-northeast-1', '123456789012'), ['A'])
      .filter((s) => s.Action.includes('iot:Subscribe')).flatMap((s) => s.Resource)
      .map((r) => r.replace(/^arn:aws:iot:[^:]+:[0-9]+:topicfilter\//, '')).sort();
    assert.deepEqual(role, consoleFilters);
  });
  it('refuses a resource it has no mapping for, instead of passing it through', () => {
    assert.throws(() => consoleRoleResources(`${a}topic/*`, ['A']), /no browser-role mapping/);
    assert.throws(() => consoleRoleResources(`${a}client/*`, ['A']), /unexpected client resource/);
  });
});
