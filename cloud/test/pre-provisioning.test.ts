// The pre-provisioning hook (lambda/pre-provisioning.ts, lambda/pre-provisioning-hook.ts):
// - the decision against every case of cloud/provisioning/pre-provisioning-cases.json, the table
//   localcore's built-in hook is tested against too;
// - the fact gathering, logging and refusal metric against a mocked IoT client;
// - the Lambda entry point itself, with a stand-in for the runtime's @aws-sdk/client-iot.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import Module from 'module';
import * as path from 'path';
import { describe, it } from 'node:test';
import { PROVISIONING_DIR } from '../lib/policy-files';
import { decide, handlePreProvisioning, HookFacts, HookPort, parseCertificateIdList, parseThingNamePrefix, REFUSAL_METRIC,
  subjectCommonName } from '../lambda/pre-provisioning';
import { FIXTURE_DIR } from './synth';

interface Case { name: string; input: HookFacts; expect: { allowProvisioning: boolean; reason: string } }
const table = JSON.parse(fs.readFileSync(path.join(PROVISIONING_DIR, 'pre-provisioning-cases.json'), 'utf8')) as
  { cases: Case[] };

describe('pre-provisioning decision: the shared case table', () => {
  it('has cases for every reason', () => {
    const reasons = new Set(table.cases.map((c) => c.expect.reason));
    for (const r of ['allowed', 'invalid_parameters', 'name_outside_prefix', 'claim_not_device_bound', 'serial_mismatch',
      'thing_locked']) {
      assert.ok(reasons.has(r), `no case for ${r}`);
    }
  });
  for (const c of table.cases) {
    it(c.name, () => {
      const d = decide(c.input);
      assert.deepEqual({ allowProvisioning: d.allowProvisioning, reason: d.reason }, c.expect);
      assert.ok(d.message.length > 0);
    });
  }
});

describe('pre-provisioning decision: the sentences', () => {
  const facts = (serial: string, attributes?: Record<string, string>): HookFacts => ({
    claim: { subjectCommonName: 'AMR-001', fleetWide: false }, parameters: { SerialNumber: serial },
    thing: attributes ? { attributes } : null,
  });
  it('names both devices on a mismatch', () => {
    assert.equal(decide(facts('AMR-002')).message, 'the claim certificate is bound to "AMR-001", not "AMR-002"');
  });
  it('tells how a lock is lifted', () => {
    assert.match(decide(facts('AMR-001', { locked: 'true' })).message, /AMR-001 is locked .*explicit unlock/);
  });
  it('names the requested thing and the required prefix when the name is outside it', () => {
    const d = decide({ ...facts('ROBOT-001'), claim: { subjectCommonName: 'ROBOT-001', fleetWide: false }, thingNamePrefix: 'AMR-' });
    assert.equal(d.reason, 'name_outside_prefix');
    assert.equal(d.message, 'thing name "ROBOT-001" does not start with the required prefix "AMR-" (thingNamePrefix): '
      + 'the console\'s role covers only things named AMR-*');
  });
  it('shortens a long value a device sent', () => {
    const d = decide({ ...facts('x'), parameters: { SerialNumber: 'x'.repeat(10000) } });
    assert.equal(d.reason, 'invalid_parameters');
    assert.ok(d.message.length < 300, d.message);
  });
});

const pem = (name: string) => fs.readFileSync(path.join(FIXTURE_DIR, 'claim-certs', `${name}.pem`), 'utf8');

describe('claim certificate subject', () => {
  it('reads the common name, also among other subject fields', () => {
    assert.equal(subjectCommonName(pem('amr-001')), 'AMR-001');
    assert.equal(subjectCommonName(pem('amr-002-with-org')), 'AMR-002');
  });
  it('gives null without a common name, with two, or for something that is not a certificate', () => {
    assert.equal(subjectCommonName(pem('no-common-name')), null);
    assert.equal(subjectCommonName(pem('two-common-names')), null);
    assert.equal(subjectCommonName('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), null);
  });
  it('reads the thing-name prefix from the environment value: empty or unset is none, anything else a valid start', () => {
    assert.equal(parseThingNamePrefix(undefined), '');
    assert.equal(parseThingNamePrefix(''), '');
    assert.equal(parseThingNamePrefix('AMR-'), 'AMR-');
    // A broken deployment fails every invocation (so RegisterThing is refused and the error alarm
    // fires) instead of checking against a prefix no thing name can have.
    for (const bad of ['AMR-*', 'amr/AMR-', ' AMR-', 'x'.repeat(129)]) {
      assert.throws(() => parseThingNamePrefix(bad), /THING_NAME_PREFIX must be empty or the start of a thing name/, bad);
    }
  });
  it('reads the fleet-wide allow-list from the environment value', () => {
    assert.deepEqual([...parseCertificateIdList(undefined)], []);
    assert.deepEqual([...parseCertificateIdList('')], []);
    assert.deepEqual([...parseCertificateIdList(` ${'A'.repeat(64)} ,,${'b'.repeat(64)}`)], ['a'.repeat(64), 'b'.repeat(64)]);
  });
});

const CLAIM_001 = '1'.repeat(64);
const CLAIM_002 = '2'.repeat(64);
const CLAIM_NO_CN = '4'.repeat(64);
const FLEET = 'f'.repeat(64);
const NEW_CERT = 'a'.repeat(64);

class FakeIot implements HookPort {
  calls: string[] = [];
  failOn?: string;
  certs: Record<string, string> = { [CLAIM_001]: pem('amr-001'), [CLAIM_NO_CN]: pem('no-common-name'), [FLEET]: pem('no-common-name') };
  things: Record<string, Record<string, string>> = { 'AMR-001': { model: 'amr' }, 'AMR-002': { model: 'amr' } };
  async certificatePem(id: string) {
    this.calls.push(`describeCertificate ${id.slice(0, 1)}`);
    if (this.failOn === 'describeCertificate') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    return this.certs[id];
  }
  async describeThing(name: string) {
    this.calls.push(`describeThing ${name}`);
    const a = this.things[name];
    return a ? { attributes: a } : null;
  }
}

const request = (serial: unknown, claim = CLAIM_001) => ({
  claimCertificateId: claim, certificateId: NEW_CERT,
  certificatePem: '-----BEGIN CERTIFICATE-----\nTHE-NEW-CERTIFICATE\n-----END CERTIFICATE-----\n',
  templateArn: 'arn:aws:iot:ap-northeast-1:123456789012:provisioningtemplate/amr', clientId: 'claim-AMR-001',
  parameters: { SerialNumber: serial },
});

async function run(event: Record<string, unknown>, iot = new FakeIot(), fleet: string[] = [], thingNamePrefix = '') {
  const lines: string[] = [];
  const out = await handlePreProvisioning(event, iot,
    { fleetClaimCertificateIds: new Set(fleet), metricNamespace: 'AmrGateway', thingNamePrefix }, (l) => lines.push(l),
    () => 1700000000000);
  assert.equal(lines.length, 1, 'one log line per decision');
  return { out, log: JSON.parse(lines[0]) as Record<string, unknown>, raw: lines[0], iot };
}

describe('pre-provisioning hook: facts, log line and refusal metric', () => {
  it('allows the device its claim certificate names, and counts nothing', async () => {
    const { out, log, iot } = await run(request('AMR-001'));
    assert.deepEqual(out, { allowProvisioning: true });
    assert.deepEqual(iot.calls, ['describeCertificate 1', 'describeThing AMR-001']);
    assert.equal(log.reason, 'allowed');
    assert.equal(log._aws, undefined);
    assert.equal(log[REFUSAL_METRIC], undefined);
  });

  it('refuses another device\'s serial: logs the reason, claim certificate and serial, and emits the metric', async () => {
    const { out, log, raw } = await run(request('AMR-002'));
    assert.deepEqual(out, { allowProvisioning: false });
    assert.equal(log.event, 'pre-provisioning');
    assert.equal(log.reason, 'serial_mismatch');
    assert.equal(log.message, 'the claim certificate is bound to "AMR-001", not "AMR-002"');
    assert.equal(log.claimCertificateId, CLAIM_001);
    assert.equal(log.requestedSerial, 'AMR-002');
    assert.equal(log.certificateId, NEW_CERT);
    // Embedded Metric Format: CloudWatch extracts AmrGateway/ProvisioningRefused = 1 from this line.
    assert.deepEqual(log._aws, {
      Timestamp: 1700000000000,
      CloudWatchMetrics: [{ Namespace: 'AmrGateway', Dimensions: [[]], Metrics: [{ Name: REFUSAL_METRIC, Unit: 'Count' }] }],
    });
    assert.equal(log[REFUSAL_METRIC], 1);
    assert.doesNotMatch(raw, /CERTIFICATE|THE-NEW-CERTIFICATE/, 'no PEM in the log');
  });

  it('refuses the own thing when it is locked, and allows it again after the unlock', async () => {
    const iot = new FakeIot();
    iot.things['AMR-001'].locked = 'true';
    assert.equal((await run(request('AMR-001'), iot)).log.reason, 'thing_locked');
    iot.things['AMR-001'].locked = 'false';
    assert.equal((await run(request('AMR-001'), iot)).log.reason, 'allowed');
    delete iot.things['AMR-001'].locked;
    assert.equal((await run(request('AMR-001'), iot)).out.allowProvisioning, true);
  });

  it('allows first boot (the thing does not exist yet)', async () => {
    const iot = new FakeIot();
    delete iot.things['AMR-001'];
    assert.deepEqual((await run(request('AMR-001'), iot)).out, { allowProvisioning: true });
  });

  it('refuses a claim certificate without a common name, or one AWS IoT does not know', async () => {
    assert.equal((await run(request('AMR-001', CLAIM_NO_CN))).log.reason, 'claim_not_device_bound');
    assert.equal((await run(request('AMR-001', '3'.repeat(64)))).log.reason, 'claim_not_device_bound');
  });

  it('does not look anything up for a claim certificate id that is not one', async () => {
    const { log, iot } = await run(request('AMR-001', '../cert'));
    assert.equal(log.reason, 'claim_not_device_bound');
    assert.ok(!iot.calls.some((c) => c.startsWith('describeCertificate')));
  });

  it('lets an allow-listed fleet-wide claim certificate name any serial, but not a locked one', async () => {
    const iot = new FakeIot();
    const fleet = [FLEET];
    const r = await run(request('AMR-002', FLEET.toUpperCase()), iot, fleet);
    assert.deepEqual(r.out, { allowProvisioning: true });
    assert.equal(r.log.fleetWide, true);
    iot.things['AMR-002'].locked = 'true';
    assert.equal((await run(request('AMR-002', FLEET), iot, fleet)).log.reason, 'thing_locked');
    // The same certificate without the allow-list is an ordinary claim certificate without a device.
    assert.equal((await run(request('AMR-002', FLEET), iot)).log.reason, 'claim_not_device_bound');
  });

  it('refuses a name outside the configured prefix, also for a fleet-wide claim, with name and prefix in the log', async () => {
    const iot = new FakeIot();
    iot.certs[CLAIM_002] = pem('amr-002-with-org');
    const outside = await run(request('ROBOT-7', FLEET), iot, [FLEET], 'AMR-');
    assert.deepEqual(outside.out, { allowProvisioning: false });
    assert.equal(outside.log.reason, 'name_outside_prefix');
    assert.match(String(outside.log.message), /"ROBOT-7" does not start with the required prefix "AMR-"/);
    assert.equal(outside.log.requestedSerial, 'ROBOT-7');
    assert.equal(outside.log.thingNamePrefix, 'AMR-');
    assert.equal(outside.log[REFUSAL_METRIC], 1);
    assert.ok(!iot.calls.some((c) => c.startsWith('describeThing')), 'a name outside the prefix is never looked up');
    // The same prefix lets the devices named with it through, and no prefix is no rule.
    assert.equal((await run(request('AMR-002', CLAIM_002), iot, [], 'AMR-')).log.reason, 'allowed');
    assert.equal((await run(request('ROBOT-7', FLEET), iot, [FLEET])).log.reason, 'allowed');
    assert.equal((await run(request('ROBOT-7', FLEET), iot, [FLEET])).log.thingNamePrefix, null);
  });

  it('does not look up another device\'s thing', async () => {
    const { iot } = await run(request('AMR-002'));
    assert.deepEqual(iot.calls, ['describeCertificate 1']);
  });

  it('refuses malformed parameters without looking the thing up', async () => {
    for (const params of [{ SerialNumber: 'AMR-001/#' }, { SerialNumber: 'AMR-001', PolicyName: 'admin' }, ['AMR-001'], null]) {
      const { log, iot } = await run({ ...request('AMR-001'), parameters: params });
      assert.equal(log.reason, 'invalid_parameters', JSON.stringify(params));
      assert.ok(!iot.calls.some((c) => c.startsWith('describeThing')), JSON.stringify(params));
    }
    const { log } = await run({ ...request('AMR-001'), parameters: undefined });
    assert.equal(log.reason, 'invalid_parameters');
    assert.equal(log.requestedSerial, null);
  });

  it('fails (so AWS IoT refuses the request) when AWS IoT cannot be read', async () => {
    const iot = new FakeIot();
    iot.failOn = 'describeCertificate';
    const lines: string[] = [];
    await assert.rejects(handlePreProvisioning(request('AMR-001'), iot,
      { fleetClaimCertificateIds: new Set(), metricNamespace: 'AmrGateway', thingNamePrefix: '' }, (l) => lines.push(l)),
    /Rate exceeded/);
    assert.deepEqual(lines, []);
  });
});

// The entry point as the runtime loads it: @aws-sdk/client-iot is the runtime's, so the test puts a
// stand-in into the module cache and checks the commands the handler sends and how it reads replies.
describe('pre-provisioning hook: Lambda entry point with a stand-in AWS SDK', () => {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  let throttled = false;
  const replies: Record<string, (input: Record<string, unknown>) => unknown> = {
    DescribeCertificateCommand: (i) => {
      const file = { [CLAIM_001]: 'amr-001', [CLAIM_002]: 'amr-002-with-org' }[String(i.certificateId)];
      if (!file) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return { certificateDescription: { certificateId: i.certificateId, certificatePem: pem(file), status: 'ACTIVE' } };
    },
    DescribeThingCommand: (i) => {
      if (throttled) throw Object.assign(new Error('Throttled'), { name: 'ThrottlingException' });
      if (i.thingName !== 'AMR-001') throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return { thingName: 'AMR-001', attributes: { model: 'amr' } };
    },
  };
  const command = (name: string) => class {
    readonly command = name;
    constructor(public input: Record<string, unknown>) {}
  };
  const sdk = {
    IoTClient: class {
      async send(c: { command: string; input: Record<string, unknown> }) {
        sent.push({ command: c.command, input: c.input });
        return replies[c.command](c.input);
      }
    },
    DescribeCertificateCommand: command('DescribeCertificateCommand'),
    DescribeThingCommand: command('DescribeThingCommand'),
  };
  const stand = path.join(__dirname, 'stand-in-aws-sdk-client-iot.js');
  const m = new Module(stand);
  m.exports = sdk;
  m.loaded = true;
  require.cache[stand] = m;
  const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = mod._resolveFilename;
  mod._resolveFilename = (request, ...rest) => (request === '@aws-sdk/client-iot' ? stand : resolve(request, ...rest));
  process.env.FLEET_CLAIM_CERTIFICATE_IDS = '';
  process.env.METRIC_NAMESPACE = 'AmrGateway';
  process.env.THING_NAME_PREFIX = 'AMR-';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require('../lambda/pre-provisioning-hook') as typeof import('../lambda/pre-provisioning-hook');
  mod._resolveFilename = resolve;

  // The handler writes its line to stdout itself; catch it (other writes pass through).
  async function invoke(event: Record<string, unknown>) {
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string' && chunk.startsWith('{"event":"pre-provisioning"')) {
        lines.push(chunk);
        return true;
      }
      return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      return { out: await handler(event), lines };
    } finally {
      process.stdout.write = write;
    }
  }

  it('reads the claim certificate and the thing, and answers allowProvisioning', async () => {
    sent.length = 0;
    const { out, lines } = await invoke(request('AMR-001'));
    assert.deepEqual(out, { allowProvisioning: true });
    assert.deepEqual(sent, [
      { command: 'DescribeCertificateCommand', input: { certificateId: CLAIM_001 } },
      { command: 'DescribeThingCommand', input: { thingName: 'AMR-001' } },
    ]);
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith('}\n'), 'one bare JSON line (Embedded Metric Format needs it)');
  });

  it('takes a thing that does not exist as first boot, and refuses another device\'s serial with the metric', async () => {
    sent.length = 0;
    assert.deepEqual((await invoke(request('AMR-002', CLAIM_002))).out, { allowProvisioning: true });
    assert.deepEqual(sent.map((c) => c.input), [{ certificateId: CLAIM_002 }, { thingName: 'AMR-002' }]);
    const { out, lines } = await invoke(request('AMR-002'));
    assert.deepEqual(out, { allowProvisioning: false });
    const log = JSON.parse(lines[0]);
    assert.equal(log.reason, 'serial_mismatch');
    assert.equal(log[REFUSAL_METRIC], 1);
    assert.equal(log._aws.CloudWatchMetrics[0].Namespace, 'AmrGateway');
  });

  it('refuses a name outside THING_NAME_PREFIX before any thing lookup', async () => {
    sent.length = 0;
    const { out, lines } = await invoke(request('ROBOT-7', CLAIM_002));
    assert.deepEqual(out, { allowProvisioning: false });
    const log = JSON.parse(lines[0]);
    assert.equal(log.reason, 'name_outside_prefix');
    assert.match(log.message, /"ROBOT-7" does not start with the required prefix "AMR-"/);
    assert.deepEqual(sent.map((c) => c.command), ['DescribeCertificateCommand']);
  });

  it('takes an unknown claim certificate as not device-bound, and fails on other AWS errors', async () => {
    assert.equal(JSON.parse((await invoke(request('AMR-001', '9'.repeat(64)))).lines[0]).reason, 'claim_not_device_bound');
    throttled = true;
    try {
      await assert.rejects(invoke(request('AMR-001')), /Throttled/);
    } finally {
      throttled = false;
    }
  });
});
