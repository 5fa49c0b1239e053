// cdk-nag's AWS Solutions pack runs on every synth (lib/app.ts): zero unsuppressed findings, every
// acknowledgement with a written reason — for the full parameter set and for the minimal one (no
// custom domain, no IP allow list, no email, no account singletons), whose resources differ, for
// a fleet named by thingNamePrefix (other wildcards in the browser role), and for two update signing
// keys with a signer of the site's.
// cdk-nag 3 reports only unacknowledged findings and then fails the synth.
import { strict as assert } from 'assert';
import { after, describe, it } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { cleanup, synth, Synthesized } from './synth';

function nagViolations(s: Synthesized): string[] {
  return s.report.pluginReports.filter((p) => p.pluginName.includes('AwsSolutions'))
    .flatMap((p) => p.violations.map((v) => `${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath)}`));
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) => c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    // data: {"<Plugin>::<rule id>": "<reason>", ...}
    .flatMap((m) => Object.entries(m.data as Record<string, string>))
    .map(([id, reason]) => ({ path: c.node.path, id, reason })));
}

for (const [name, overrides] of [
  ['full parameters', {}],
  ['minimal parameters', { consoleDomainName: undefined, consoleCertificateArn: undefined, allowedIpCidrs: [],
    alarmEmail: undefined, operatorEmail: undefined, iotLogging: false, deviceDefenderAudit: false }],
  // The browser role's wildcards (and its Deny) differ with a thing-name prefix.
  ['thing-name prefix', { thingNamePrefix: 'AMR-', thingNames: ['AMR-001', 'AMR-002'] }],
  // Two update signing keys (a rotation) and a signer named by the site instead of the stack's role.
  ['signing key rotation', { updateSigningKeys: ['1', '2'], releaseSignerArn: 'arn:aws:iam::123456789012:role/iotgw-release-signer' }],
] as const) {
  describe(`cdk-nag AwsSolutions, ${name}`, () => {
    const s = synth(overrides as Record<string, unknown>);
    after(() => cleanup(s));

    it('synthesizes with zero unsuppressed findings', () => {
      assert.deepEqual(nagViolations(s), []);
      assert.equal(s.error, undefined, String(s.error?.message));
    });
    it('gives a written reason for every acknowledgement', () => {
      const acks = acknowledgements(s.app);
      const nag = acks.filter((a) => a.id.startsWith('AwsSolutions::'));
      assert.ok(nag.length >= 10, `expected the project's cdk-nag acknowledgements, found ${nag.length}`);
      for (const a of nag) {
        assert.match(a.id, /^AwsSolutions::AwsSolutions-[A-Z0-9]+(\[.+\])?$/, `${a.path}: ${a.id}`);
        assert.ok(typeof a.reason === 'string' && a.reason.length >= 40, `${a.path} ${a.id}: reason "${a.reason}"`);
      }
      // aws-cdk-lib acknowledges a few CloudFormation-Validate warnings of its own; those carry reasons too.
      for (const a of acks) assert.ok(a.reason && a.reason.length > 0, `${a.path} ${a.id}: no reason`);
    });
  });
}

describe('cdk-nag is active', () => {
  it('fails the synth on an unacknowledged finding (an S3 bucket without access logs or TLS policy)', () => {
    const s = synth({}, (built) => { new s3.Bucket(built.gateway, 'Unlogged'); });
    try {
      assert.ok(s.error, 'the synth should have failed');
      const found = nagViolations(s);
      assert.ok(found.some((v) => v.startsWith('AwsSolutions-S1 at AmrGateway/Unlogged')), found.join('\n'));
    } finally {
      cleanup(s);
    }
  });
});
