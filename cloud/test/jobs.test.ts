// Remote jobs, the cloud's side (lib/jobs.ts): the job artifacts bucket, the presign role, the
// health job template, the update signing key, and the rollout/abort/timeout files in cloud/jobs/
// that the template and cloud/jobs/make_job.py share.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, describe, it } from 'node:test';
import { cleanup, synth } from './synth';
import {
  checkJobConfig, DOWNLOAD_PREFIXES, HEALTH_TEMPLATE_PREFIX, JOB_OPERATIONS, JOBS_DIR, loadJobConfig, LOGS_PREFIX,
  signingKeyAlias, toCloudFormation,
} from '../lib/jobs';
import { parseParams } from '../lib/params';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
const json = (v: unknown) => JSON.stringify(v);
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const s = synth();
after(() => cleanup(s));
const all = s.gateway.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.entries(all).filter(([, r]) => r.Type === type);
const bucketEntry = Object.entries(all).find(([id, r]) => r.Type === 'AWS::S3::Bucket' && id.startsWith('JobsArtifacts'));
const bucketId = bucketEntry?.[0] as string;
const bucket = bucketEntry?.[1] as Resource;

describe('job artifacts bucket', () => {
  it('exists once, is kept with the stack\'s removal, and blocks all public access', () => {
    assert.ok(bucket, 'no JobsArtifacts bucket');
    assert.equal(bucket.DeletionPolicy, 'Retain');
    assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    assert.deepEqual(bucket.Properties.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });
  it('is encrypted, versioned and logs its access to the access-log bucket', () => {
    assert.equal(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
    assert.deepEqual(bucket.Properties.VersioningConfiguration, { Status: 'Enabled' });
    const logging = bucket.Properties.LoggingConfiguration;
    assert.match(json(logging.DestinationBucketName), /FrontendAccessLogs/);
    assert.equal(logging.LogFilePrefix, 's3-job-artifacts/');
  });
  it('refuses every request without TLS 1.2', () => {
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, r]) => json(r.Properties.Bucket).includes(bucketId))!;
    const statements = policy.Properties.PolicyDocument.Statement as { Effect: string; Action: string; Condition: unknown }[];
    assert.ok(statements.some((st) => st.Effect === 'Deny' && st.Action === 's3:*'
      && json(st.Condition) === json({ Bool: { 'aws:SecureTransport': 'false' } })));
    assert.ok(statements.some((st) => st.Effect === 'Deny' && st.Action === 's3:*'
      && json(st.Condition) === json({ NumericLessThan: { 's3:TlsVersion': 1.2 } })));
    assert.ok(statements.every((st) => st.Effect === 'Deny'), 'the bucket policy grants nothing');
  });
  it('expires uploaded journals (logs/) after jobLogRetentionDays; packages and configs keep old versions 90 days', () => {
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Record<string, any>[];
    const logs = rules.find((r) => r.Prefix === LOGS_PREFIX);
    assert.equal(logs?.ExpirationInDays, s.params.jobLogRetentionDays);
    assert.equal(s.params.jobLogRetentionDays, 30, 'the default');
    assert.equal(logs?.NoncurrentVersionExpiration.NoncurrentDays, 1);
    for (const prefix of DOWNLOAD_PREFIXES) {
      const r = rules.find((x) => x.Prefix === prefix);
      assert.equal(r?.ExpirationInDays, undefined, `${prefix}: current objects never expire`);
      assert.equal(r?.NoncurrentVersionExpiration.NoncurrentDays, 90);
    }
    assert.ok(rules.every((r) => r.Status === 'Enabled' && r.AbortIncompleteMultipartUpload));
    assert.equal(rules.length, 3, 'no rule for the whole bucket: the prefixes do not overlap');
  });
  it('follows jobLogRetentionDays', () => {
    const other = synth({ jobLogRetentionDays: 7 });
    try {
      const b = Object.entries(other.gateway.toJSON().Resources as Record<string, Resource>)
        .find(([id]) => id.startsWith('JobsArtifacts'))![1];
      assert.equal(b.Properties.LifecycleConfiguration.Rules.find((r: any) => r.Prefix === LOGS_PREFIX).ExpirationInDays, 7);
    } finally {
      cleanup(other);
    }
  });
});

describe('presign role (presignedUrlConfig.roleArn)', () => {
  const [, role] = ofType('AWS::IAM::Role').find(([id]) => id.startsWith('JobsPresignRole'))!;
  it('is assumed by AWS IoT, for this account and region only', () => {
    const trust = role.Properties.AssumeRolePolicyDocument.Statement;
    assert.equal(trust.length, 1);
    assert.deepEqual(trust[0].Principal, { Service: 'iot.amazonaws.com' });
    assert.equal(trust[0].Action, 'sts:AssumeRole');
    assert.deepEqual(trust[0].Condition, {
      StringEquals: { 'aws:SourceAccount': '123456789012' },
      ArnLike: { 'aws:SourceArn': 'arn:aws:iot:ap-northeast-1:123456789012:*' },
    });
  });
  it('may only read objects under packages/ and configs/ of the artifacts bucket (not logs/)', () => {
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
    const statements = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    assert.equal(statements.length, 1);
    assert.equal(statements[0].Effect, 'Allow');
    assert.deepEqual(list(statements[0].Action), ['s3:GetObject']);
    const resources = list(statements[0].Resource).map((r) => json(r));
    assert.deepEqual(resources, DOWNLOAD_PREFIXES.map((prefix) => json({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] })));
    // Nothing else in the stack grants on the artifacts bucket.
    const grants = ofType('AWS::IAM::Policy').filter(([, p]) => json(p.Properties).includes(bucketId));
    assert.deepEqual(grants, []);
  });
});

describe('job template health', () => {
  const templates = ofType('AWS::IoT::JobTemplate');
  it('is the only template: the other operations\' documents change per artifact (cloud/jobs/make_job.py)', () => {
    assert.equal(templates.length, 1);
  });
  const t = templates[0][1].Properties;
  it('has the fixed document {"operation":"health"} and no presigned URL', () => {
    assert.deepEqual(JSON.parse(t.Document), { operation: 'health' });
    assert.equal(t.PresignedUrlConfig, undefined);
    assert.equal(t.DocumentSource, undefined);
  });
  it('takes timeout, rollout and abort from cloud/jobs/health.json, in CloudFormation\'s spelling', () => {
    const health = loadJobConfig('health');
    assert.deepEqual(t.TimeoutConfig, { InProgressTimeoutInMinutes: health.timeoutConfig!.inProgressTimeoutInMinutes });
    assert.ok(t.TimeoutConfig.InProgressTimeoutInMinutes > 0);
    assert.ok(t.JobExecutionsRolloutConfig.MaximumPerMinute > 0);
    assert.ok(t.AbortConfig.CriteriaList.length > 0);
    assert.deepEqual(t.JobExecutionsRolloutConfig, toCloudFormation(health.jobExecutionsRolloutConfig) as object);
    assert.deepEqual(t.AbortConfig, toCloudFormation(health.abortConfig) as object);
  });
  it('is named by its content, so that a changed template is a new one (CloudFormation replaces templates)', () => {
    assert.match(t.JobTemplateId, new RegExp(`^${HEALTH_TEMPLATE_PREFIX}[0-9a-f]{12}$`));
    assert.ok(t.JobTemplateId.length <= 64);
  });
});

describe('cloud/jobs/<operation>.json (rollout, abort and timeout, shared with make_job.py)', () => {
  for (const op of JOB_OPERATIONS) {
    it(`${op}.json is valid and has an in-progress timeout`, () => {
      const c = loadJobConfig(op);
      assert.ok(c.timeoutConfig && c.timeoutConfig.inProgressTimeoutInMinutes >= 1);
    });
  }
  it('operations sent to a fleet roll out gradually and abort on failures', () => {
    for (const op of ['health', 'config', 'package'] as const) {
      const c = loadJobConfig(op);
      assert.ok(c.jobExecutionsRolloutConfig, `${op}: no rollout`);
      assert.ok(c.abortConfig?.criteriaList.length, `${op}: no abort criteria`);
    }
    for (const op of ['config', 'package'] as const) {
      const c = loadJobConfig(op);
      assert.ok(c.presignedUrlConfig?.expiresInSec, `${op}: a document with a placeholder needs presignedUrlConfig`);
      assert.ok(c.abortConfig!.criteriaList.every((k) => k.thresholdPercentage <= 10), `${op}: a wrong release must stop early`);
    }
  });
  it('the package job outlasts the gateway\'s own limits (download, install, confirmation)', () => {
    // plugins/package: install_timeout 20 min + confirm_timeout up to 10 min by default, after the download.
    assert.ok(loadJobConfig('package').timeoutConfig!.inProgressTimeoutInMinutes >= 60);
  });
  it('no file in cloud/jobs/ is left unused', () => {
    const files = fs.readdirSync(JOBS_DIR).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, [...JOB_OPERATIONS].map((op) => `${op}.json`).sort());
  });
  for (const [name, raw, msg] of [
    ['an unknown key', { timeoutConfig: { inProgressTimeoutInMinutes: 5 }, retry: {} }, /\/retry is not one of/],
    ['a timeout over 7 days', { timeoutConfig: { inProgressTimeoutInMinutes: 10081 } }, /inProgressTimeoutInMinutes must be an integer from 1 to 10080/],
    ['a rate over 1000', { jobExecutionsRolloutConfig: { maximumPerMinute: 1001 } }, /maximumPerMinute/],
    ['a factor with two decimals', { jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 1, incrementFactor: 1.55,
      rateIncreaseCriteria: { numberOfSucceededThings: 1 } } } }, /incrementFactor must be a number from 1.1 to 5 with at most 1/],
    ['both rate increase criteria', { jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 1, incrementFactor: 2,
      rateIncreaseCriteria: { numberOfSucceededThings: 1, numberOfNotifiedThings: 1 } } } }, /exactly one of/],
    ['an abort action other than CANCEL', { abortConfig: { criteriaList: [{ failureType: 'ALL', action: 'STOP', thresholdPercentage: 10,
      minNumberOfExecutedThings: 1 }] } }, /action must be CANCEL/],
    ['a threshold with three decimals', { abortConfig: { criteriaList: [{ failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 10.125,
      minNumberOfExecutedThings: 1 }] } }, /thresholdPercentage must be a number/],
    ['a presign role in the file', { presignedUrlConfig: { expiresInSec: 600, roleArn: 'arn:aws:iam::1:role/x' } }, /roleArn is not one of/],
    ['a URL lifetime over an hour', { presignedUrlConfig: { expiresInSec: 7200 } }, /expiresInSec must be an integer from 60 to 3600/],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => checkJobConfig(raw, 'x.json'), msg));
  }
  it('names exponentialRate ExponentialRolloutRate for CloudFormation, every other key in PascalCase', () => {
    assert.deepEqual(toCloudFormation({
      maximumPerMinute: 5,
      exponentialRate: { baseRatePerMinute: 1, incrementFactor: 2, rateIncreaseCriteria: { numberOfSucceededThings: 3 } },
    }), {
      MaximumPerMinute: 5,
      ExponentialRolloutRate: { BaseRatePerMinute: 1, IncrementFactor: 2, RateIncreaseCriteria: { NumberOfSucceededThings: 3 } },
    });
    assert.deepEqual(toCloudFormation({ criteriaList: [{ failureType: 'ALL' }] }), { CriteriaList: [{ FailureType: 'ALL' }] });
  });
  it('reads another folder\'s files the same way (a site may keep its own)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotgw-jobs-'));
    try {
      fs.writeFileSync(path.join(dir, 'health.json'), '{"timeoutConfig":{"inProgressTimeoutInMinutes":3}}');
      assert.deepEqual(loadJobConfig('health', dir), { timeoutConfig: { inProgressTimeoutInMinutes: 3 } });
      fs.writeFileSync(path.join(dir, 'health.json'), '{');
      assert.throws(() => loadJobConfig('health', dir), /health.json: /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('update signing key (KMS)', () => {
  const keys = ofType('AWS::KMS::Key');
  const [, key] = keys[0];
  const statements = key.Properties.KeyPolicy.Statement as { Sid?: string; Effect: string; Action: string | string[];
    Principal: any; Condition?: Record<string, Record<string, unknown>> }[];
  const [signerId] = ofType('AWS::IAM::Role').find(([id]) => id.startsWith('JobsReleaseSigner'))!;
  const signer = { 'Fn::GetAtt': [signerId, 'Arn'] };
  it('is an ECC_NIST_P256 SIGN_VERIFY key, kept when the stack goes, with its alias', () => {
    assert.equal(keys.length, 1);
    assert.deepEqual(s.params.updateSigningKeys, ['1'], 'one key by default');
    assert.equal(key.Properties.KeySpec, 'ECC_NIST_P256');
    assert.equal(key.Properties.KeyUsage, 'SIGN_VERIFY');
    assert.equal(key.DeletionPolicy, 'Retain');
    assert.equal(key.Properties.PendingWindowInDays, 30);
    const [[, alias]] = ofType('AWS::KMS::Alias');
    assert.equal(alias.Properties.AliasName, 'alias/iotgw-update-signing-1');
    assert.equal(signingKeyAlias('1'), 'alias/iotgw-update-signing-1');
  });
  it('has a key per label during a rotation, each with the same policy; a label\'s key keeps its logical id', () => {
    const two = synth({ updateSigningKeys: ['1', '2'] });
    try {
      const res = two.gateway.toJSON().Resources as Record<string, Resource>;
      const twoKeys = Object.entries(res).filter(([, r]) => r.Type === 'AWS::KMS::Key');
      assert.equal(twoKeys.length, 2);
      assert.ok(res[keys[0][0]], 'key 1 has the logical id it had alone (not replaced by adding key 2)');
      const policies = twoKeys.map(([, k]) => json(k.Properties.KeyPolicy));
      assert.equal(policies[0], policies[1]);
      const aliases = Object.values(res).filter((r) => r.Type === 'AWS::KMS::Alias').map((r) => r.Properties.AliasName).sort();
      assert.deepEqual(aliases, ['alias/iotgw-update-signing-1', 'alias/iotgw-update-signing-2']);
      const outputs = two.gateway.toJSON().Outputs as Record<string, { Value: unknown }>;
      assert.equal(outputs.UpdateSigningKey2Alias.Value, 'alias/iotgw-update-signing-2');
      assert.match(json(outputs.UpdateSigningKey2Arn.Value), /JobsUpdateSigningKey2/);
    } finally {
      cleanup(two);
    }
  });
  it('lets the release signer sign SHA-256 digests with ECDSA_SHA_256 and read the public key', () => {
    const sign = statements.find((st) => st.Effect === 'Allow' && list(st.Action).includes('kms:Sign'))!;
    assert.deepEqual(list(sign.Action), ['kms:Sign']);
    assert.deepEqual(sign.Principal, { AWS: signer });
    assert.deepEqual(sign.Condition, { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } });
    const read = statements.find((st) => st.Effect === 'Allow' && list(st.Action).includes('kms:GetPublicKey'))!;
    assert.deepEqual(list(read.Action).sort(), ['kms:DescribeKey', 'kms:GetPublicKey']);
    assert.deepEqual(read.Principal, { AWS: signer });
  });
  it('denies kms:Sign to every other principal, and any signing request but a digest with ECDSA_SHA_256', () => {
    const denies = statements.filter((st) => st.Effect === 'Deny');
    assert.ok(denies.every((st) => json(st.Action) === json('kms:Sign') && json(st.Principal) === json({ AWS: '*' })));
    assert.deepEqual(denies.map((st) => st.Condition), [
      { ArnNotEquals: { 'aws:PrincipalArn': signer } },
      { StringNotEquals: { 'kms:MessageType': 'DIGEST' } },
      { StringNotEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    ]);
    // The account statement stays (key administration through IAM): without it nobody could
    // manage the key. The Deny above takes kms:Sign back from it.
    const account = statements.filter((st) => st.Effect === 'Allow' && json(st.Principal).includes(':root'));
    assert.equal(account.length, 1);
  });
  it('the stack\'s signer role is assumable inside the account only and holds no policy of its own', () => {
    const role = all[signerId];
    const trust = role.Properties.AssumeRolePolicyDocument.Statement;
    assert.equal(trust.length, 1);
    assert.match(json(trust[0].Principal), /:iam::123456789012:root/);
    assert.equal(role.Properties.Policies, undefined);
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
  });
  it('names the parameter releaseSignerArn instead, when given, and then makes no role', () => {
    const arn = 'arn:aws:iam::123456789012:role/release/iotgw-signer';
    const other = synth({ releaseSignerArn: arn });
    try {
      const res = other.gateway.toJSON().Resources as Record<string, Resource>;
      assert.equal(Object.keys(res).filter((id) => id.startsWith('JobsReleaseSigner')).length, 0);
      const [, k] = Object.entries(res).find(([, r]) => r.Type === 'AWS::KMS::Key')!;
      const st = k.Properties.KeyPolicy.Statement as any[];
      assert.deepEqual(st.find((x) => x.Sid === 'ReleaseSignerSignsDigests').Principal, { AWS: arn });
      assert.deepEqual(st.find((x) => x.Sid === 'NoOtherSigner').Condition, { ArnNotEquals: { 'aws:PrincipalArn': arn } });
      assert.equal(other.gateway.toJSON().Outputs.ReleaseSignerArn.Value, arn);
    } finally {
      cleanup(other);
    }
  });
  it('refuses a signer of another account, a wildcard or something that is not a role or user; key labels checked', () => {
    const base = { account: '123456789012', cognitoDomainPrefix: 'a', callbackUrls: ['https://c.example.jp/'],
      logoutUrls: ['https://c.example.jp/'], thingNames: ['AMR-001'] };
    assert.throws(() => parseParams({ ...base, releaseSignerArn: 'arn:aws:iam::210987654321:role/signer' }, 'f'),
      /"releaseSignerArn" must be a role or user of the account 123456789012/);
    assert.throws(() => parseParams({ ...base, releaseSignerArn: 'arn:aws:iam::123456789012:role/*' }, 'f'), /"releaseSignerArn" must be the ARN/);
    assert.throws(() => parseParams({ ...base, releaseSignerArn: 'arn:aws:iam::123456789012:group/release' }, 'f'), /"releaseSignerArn"/);
    assert.throws(() => parseParams({ ...base, jobLogRetentionDays: 0 }, 'f'), /"jobLogRetentionDays" must be an integer from 1/);
    assert.throws(() => parseParams({ ...base, updateSigningKeys: ['1', '2', '3'] }, 'f'), /"updateSigningKeys" has more than two keys/);
    assert.throws(() => parseParams({ ...base, updateSigningKeys: ['key-2'] }, 'f'), /"updateSigningKeys\[0\]" must be key labels/);
    assert.throws(() => parseParams({ ...base, updateSigningKeys: [] }, 'f'), /"updateSigningKeys" must be a list of at least 1/);
  });
});

describe('stack outputs for the release tooling', () => {
  it('bucket, presign role, health template, signing key and signer', () => {
    const outputs = s.gateway.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.JobArtifactsBucketName.Value, { Ref: bucketId });
    assert.match(json(outputs.JobPresignRoleArn.Value), /JobsPresignRole/);
    assert.match(json(outputs.HealthJobTemplateArn.Value), /JobsHealthTemplate.*Arn/);
    assert.match(json(outputs.UpdateSigningKey1Arn.Value), /JobsUpdateSigningKey1.*Arn/);
    assert.equal(outputs.UpdateSigningKey1Alias.Value, 'alias/iotgw-update-signing-1');
    assert.match(json(outputs.ReleaseSignerArn.Value), /JobsReleaseSigner/);
  });
});
