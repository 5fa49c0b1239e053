// Parameter validation: wrong values fail the synth with the key named.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { parseParams } from '../lib/params';
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import {
  CLOUD_DIR, consolePrefixDenyResources, consoleRoleResources, consoleRoleStatements, iamPolicySize, loadIotPolicy,
} from '../lib/policy-files';

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
    assert.equal(p.thingNamePrefix, undefined, 'the browser role names each thing, unless asked for');
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
    ['thing name prefix with an IAM wildcard', { thingNamePrefix: 'AMR-*' }, /"thingNamePrefix" must be the start of an AWS IoT thing name/],
    ['thing name prefix with a topic level', { thingNamePrefix: 'amr/AMR-' }, /"thingNamePrefix" must be/],
    ['empty thing name prefix', { thingNamePrefix: '' }, /"thingNamePrefix" must be/],
    ['thing outside the prefix', { thingNamePrefix: 'AMR-', thingNames: ['AMR-001', 'AMR-002', 'amr-003'] },
      /f.json: "thingNames\[2\]" \("amr-003"\) does not start with thingNamePrefix "AMR-"/],
    ['fleet claim id not a certificate id', { fleetClaimCertificateIds: ['AMR-001'] }, /"fleetClaimCertificateIds\[0\]" must be AWS IoT certificate ids/],
    ['redirect not a logout URL', { logoutUrls: ['https://other.example.jp/'] },
      /"logoutUrls" must include callbackUrls\[0\] \(https:\/\/c.example.jp\/\): the console signs out to it/],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => parseParams({ ...base, ...over }, 'f.json'), msg));
  }
  it('accepts a thing name prefix that every thing starts with', () => {
    const p = parseParams({ ...base, thingNamePrefix: 'AMR-', thingNames: ['AMR-001', 'AMR-'] }, 'f.json');
    assert.equal(p.thingNamePrefix, 'AMR-');
    assert.deepEqual(p.thingNames, ['AMR-001', 'AMR-']);
  });
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
  it('with a thing name prefix, maps each thing resource to one wildcard whatever the number of things', () => {
    const many = Array.from({ length: 10000 }, (_, i) => `AMR-${i}`);
    assert.deepEqual(consoleRoleResources(`${a}topic/amr/*`, many, 'AMR-'), [`${a}topic/amr/AMR-*/*`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/amr/*/cmd/call`, many, 'AMR-'), [`${a}topic/amr/AMR-*/cmd/call`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/$aws/events/presence/*`, many, 'AMR-'), [`${a}topic/$aws/events/presence/*/AMR-*`]);
    assert.deepEqual(consoleRoleResources(`${a}topic/$aws/things/*/shadow/name/robot/get`, many, 'AMR-'),
      [`${a}topic/$aws/things/AMR-*/shadow/name/robot/get`]);
    // Client id and subscribe filters do not name things: unchanged.
    assert.deepEqual(consoleRoleResources(`${a}client/console-*`, many, 'AMR-'), consoleRoleResources(`${a}client/console-*`, ['A']));
    assert.deepEqual(consoleRoleResources(`${a}topicfilter/amr/*`, many, 'AMR-'), consoleRoleResources(`${a}topicfilter/amr/*`, ['A']));
    const doc = loadIotPolicy('console', 'ap-northeast-1', '123456789012');
    assert.equal(iamPolicySize(consoleRoleStatements(doc, many, 'AMR-')), iamPolicySize(consoleRoleStatements(doc, ['AMR-1'], 'AMR-')));
  });
  it('denies the deeper topics `<prefix>*` matches only where the tail after it is literal', () => {
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/amr/AMR-*/cmd/call`, 'AMR-'), [`${a}topic/amr/AMR-*/*/cmd/call`]);
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/$aws/things/AMR-*/shadow/name/robot/get`, 'AMR-'),
      [`${a}topic/$aws/things/AMR-*/*/shadow/name/robot/get`]);
    // amr/AMR-*/* already equals the union of amr/<thing>/*; a Deny of amr/AMR-*/*/* would take
    // back amr/AMR-1/cmd/result. The others are receive-only, bounded by the subscribe filters.
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/amr/AMR-*/*`, 'AMR-'), []);
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/$aws/things/AMR-*/shadow/name/robot/*`, 'AMR-'), []);
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/$aws/events/presence/*/AMR-*`, 'AMR-'), []);
    const statements = consoleRoleStatements(loadIotPolicy('console', 'ap-northeast-1', '123456789012'), ['AMR-1'], 'AMR-');
    assert.deepEqual(statements.filter((st) => st.Effect === 'Deny'), [{ Effect: 'Deny', Action: ['iot:Publish'], Resource: [
      `${a}topic/amr/AMR-*/*/cmd/call`, `${a}topic/$aws/things/AMR-*/*/shadow/name/robot/get`] },
    // The watch message: publish and retain, taken back for the deeper topics alike.
    { Effect: 'Deny', Action: ['iot:Publish', 'iot:RetainPublish'], Resource: [`${a}topic/amr/AMR-*/*/watch`] }]);
    assert.deepEqual(consolePrefixDenyResources(`${a}topic/amr/AMR-*/watch`, 'AMR-'), [`${a}topic/amr/AMR-*/*/watch`]);
    assert.equal(consoleRoleStatements(loadIotPolicy('console', 'ap-northeast-1', '123456789012'), ['AMR-1'])
      .filter((st) => st.Effect === 'Deny').length, 0, 'no Deny without a prefix: the role is unchanged');
  });
  it('console.json\'s Deny of the deeper watch topics is implied by the role: not copied, the role\'s size unchanged', () => {
    const policy = loadIotPolicy('console', 'ap-northeast-1', '123456789012');
    // The IoT policy itself: `*` matches '/', so amr/*/watch needs this Deny (localcore's
    // cloud_policy_matrix_test.cpp evaluates it).
    assert.deepEqual(policy.Statement.filter((st) => st.Effect === 'Deny'),
      [{ Effect: 'Deny', Action: ['iot:Publish', 'iot:RetainPublish'], Resource: [`${a}topic/amr/*/*/watch`] }]);
    // The role names each thing (no '/') or `<prefix>*` with its own Deny of the deeper topics.
    const allowOnly = { ...policy, Statement: policy.Statement.filter((st) => st.Effect === 'Allow') };
    assert.deepEqual(consoleRoleStatements(policy, ['A', 'B']), consoleRoleStatements(allowOnly, ['A', 'B']));
    assert.deepEqual(consoleRoleStatements(policy, ['AMR-1'], 'AMR-'), consoleRoleStatements(allowOnly, ['AMR-1'], 'AMR-'));
    // Any other Deny must be mapped deliberately.
    const withDeny = (resource: string) => ({ ...policy, Statement: [...policy.Statement,
      { Effect: 'Deny' as const, Action: ['iot:Publish'], Resource: [resource] }] });
    for (const r of [`${a}topic/amr/*/status`, `${a}topic/amr/*/*/heartbeat`, `${a}topic/amr/*/*/*/watch`, `${a}topic/*/*/watch`])
      assert.throws(() => consoleRoleStatements(withDeny(r), ['A']), /no browser-role mapping for the Deny/, r);
  });
  it('refuses a resource it has no mapping for, instead of passing it through', () => {
    assert.throws(() => consoleRoleResources(`${a}topic/*`, ['A']), /no browser-role mapping/);
    assert.throws(() => consoleRoleResources(`${a}client/*`, ['A']), /unexpected client resource/);
  });
});
