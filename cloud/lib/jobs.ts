// Remote jobs, the cloud's side (docs/remote-jobs.md; the gateway's handlers are plugins/jobs,
// config, package, logs, health):
// - a private bucket for job artifacts: packages/ and configs/ (downloaded by the AMRs through the
//   presigned URLs AWS IoT puts in place of a job document's placeholder) and logs/ (journals the
//   AMRs upload with a presigned PUT; expired after jobLogRetentionDays);
// - the role AWS IoT Jobs assumes to presign those downloads: s3:GetObject on packages/ and
//   configs/ only, assumable by AWS IoT for this account only;
// - the job template of the one operation whose document never changes, health; the others get
//   their documents per artifact from cloud/jobs/make_job.py, with the same rollout, abort and
//   timeout files (cloud/jobs/<operation>.json);
// - the update signing key (two while it is rotated): an asymmetric KMS key (ECC_NIST_P256,
//   SIGN_VERIFY) whose key policy lets only the release signer call kms:Sign, and only over a
//   SHA-256 digest with ECDSA_SHA_256: the signature format `iotgw update verify` and the AMRs check.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { DeploymentParams } from './params';
import { CLOUD_DIR } from './policy-files';

export const JOBS_DIR = path.join(CLOUD_DIR, 'jobs');
export const JOB_OPERATIONS = ['health', 'config', 'package', 'logs'] as const;
export type JobOperation = typeof JOB_OPERATIONS[number];
/** The key prefixes whose objects AWS IoT presigns downloads of: the presign role reads these only. */
export const DOWNLOAD_PREFIXES = ['packages/', 'configs/'] as const;
/** Where the AMRs' uploaded journals go (logs/<thing>/<job id>.txt). */
export const LOGS_PREFIX = 'logs/';
export const HEALTH_TEMPLATE_PREFIX = 'iotgw-health-';
/** The alias of the update signing key labelled `label` (parameter updateSigningKeys). */
export const signingKeyAlias = (label: string) => `alias/iotgw-update-signing-${label}`;
/** The only signing request the key accepts: a SHA-256 digest, ECDSA (DER signature). */
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
export const SIGNING_MESSAGE_TYPE = 'DIGEST';

/** A job's rollout, abort and timeout settings in the CreateJob API's shape (cloud/jobs/<op>.json). */
export interface JobConfig {
  timeoutConfig?: { inProgressTimeoutInMinutes: number };
  jobExecutionsRolloutConfig?: {
    maximumPerMinute?: number;
    exponentialRate?: {
      baseRatePerMinute: number;
      incrementFactor: number;
      rateIncreaseCriteria: { numberOfNotifiedThings?: number; numberOfSucceededThings?: number };
    };
  };
  abortConfig?: {
    criteriaList: { failureType: string; action: string; thresholdPercentage: number; minNumberOfExecutedThings: number }[];
  };
  /** Only expiresInSec: the role is this deployment's, filled in by whoever makes the job. */
  presignedUrlConfig?: { expiresInSec: number };
}

type Raw = Record<string, unknown>;

/** cloud/jobs/<operation>.json, checked against the ranges the AWS IoT API documents. */
export function loadJobConfig(operation: JobOperation, dir: string = JOBS_DIR): JobConfig {
  const file = path.join(dir, `${operation}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return checkJobConfig(raw, file);
}

export function checkJobConfig(raw: unknown, where: string): JobConfig {
  const fail = (at: string, what: string): never => {
    throw new Error(`${where}: ${at} ${what}`);
  };
  const object = (v: unknown, at: string, keys: string[]): Raw => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'must be a JSON object');
    for (const k of Object.keys(v as Raw)) if (!keys.includes(k)) fail(`${at}/${k}`, `is not one of ${keys.join(', ')}`);
    return v as Raw;
  };
  const int = (v: unknown, at: string, min: number, max: number): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(at, `must be an integer from ${min} to ${max}`);
  };
  // AWS IoT takes one digit after the decimal point for incrementFactor, two for thresholdPercentage.
  const decimal = (v: unknown, at: string, min: number, max: number, digits: number): void => {
    if (typeof v !== 'number' || v < min || v > max || Math.round(v * 10 ** digits) !== v * 10 ** digits) {
      fail(at, `must be a number from ${min} to ${max} with at most ${digits} decimal digit(s)`);
    }
  };
  const c = object(raw, '', ['timeoutConfig', 'jobExecutionsRolloutConfig', 'abortConfig', 'presignedUrlConfig']);
  if (c.timeoutConfig !== undefined) {
    const t = object(c.timeoutConfig, '/timeoutConfig', ['inProgressTimeoutInMinutes']);
    int(t.inProgressTimeoutInMinutes, '/timeoutConfig/inProgressTimeoutInMinutes', 1, 10080);
  }
  if (c.jobExecutionsRolloutConfig !== undefined) {
    const r = object(c.jobExecutionsRolloutConfig, '/jobExecutionsRolloutConfig', ['maximumPerMinute', 'exponentialRate']);
    if (r.maximumPerMinute !== undefined) int(r.maximumPerMinute, '/jobExecutionsRolloutConfig/maximumPerMinute', 1, 1000);
    if (r.exponentialRate !== undefined) {
      const at = '/jobExecutionsRolloutConfig/exponentialRate';
      const e = object(r.exponentialRate, at, ['baseRatePerMinute', 'incrementFactor', 'rateIncreaseCriteria']);
      int(e.baseRatePerMinute, `${at}/baseRatePerMinute`, 1, 1000);
      decimal(e.incrementFactor, `${at}/incrementFactor`, 1.1, 5, 1);
      const ri = object(e.rateIncreaseCriteria, `${at}/rateIncreaseCriteria`, ['numberOfNotifiedThings', 'numberOfSucceededThings']);
      const set = Object.keys(ri);
      if (set.length !== 1) fail(`${at}/rateIncreaseCriteria`, 'must have exactly one of numberOfNotifiedThings, numberOfSucceededThings');
      int(ri[set[0]], `${at}/rateIncreaseCriteria/${set[0]}`, 1, 1000000);
    }
  }
  if (c.abortConfig !== undefined) {
    const a = object(c.abortConfig, '/abortConfig', ['criteriaList']);
    if (!Array.isArray(a.criteriaList) || a.criteriaList.length === 0) fail('/abortConfig/criteriaList', 'must be a non-empty list');
    (a.criteriaList as unknown[]).forEach((v, i) => {
      const at = `/abortConfig/criteriaList/${i}`;
      const k = object(v, at, ['failureType', 'action', 'thresholdPercentage', 'minNumberOfExecutedThings']);
      if (!['FAILED', 'REJECTED', 'TIMED_OUT', 'ALL'].includes(k.failureType as string)) fail(`${at}/failureType`, 'must be FAILED, REJECTED, TIMED_OUT or ALL');
      if (k.action !== 'CANCEL') fail(`${at}/action`, 'must be CANCEL (the only action AWS IoT has)');
      decimal(k.thresholdPercentage, `${at}/thresholdPercentage`, 0.01, 100, 2);
      int(k.minNumberOfExecutedThings, `${at}/minNumberOfExecutedThings`, 1, 1000000);
    });
  }
  if (c.presignedUrlConfig !== undefined) {
    const pu = object(c.presignedUrlConfig, '/presignedUrlConfig', ['expiresInSec']);
    int(pu.expiresInSec, '/presignedUrlConfig/expiresInSec', 60, 3600);
  }
  return c as JobConfig;
}

// CloudFormation spells AWS::IoT::JobTemplate's properties in PascalCase, and calls the API's
// exponentialRate ExponentialRolloutRate. CfnJobTemplate passes these properties through untyped,
// so the conversion is ours.
const CFN_NAMES: Record<string, string> = { exponentialRate: 'ExponentialRolloutRate' };

export function toCloudFormation(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCloudFormation);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [CFN_NAMES[k] ?? k[0].toUpperCase() + k.slice(1), toCloudFormation(x)]));
  }
  return v;
}

export interface RemoteJobsProps {
  readonly params: DeploymentParams;
  /** Where the artifacts bucket's server access logs go (the console's access-log bucket). */
  readonly accessLogsBucket: s3.IBucket;
}

export class RemoteJobs extends Construct {
  readonly bucket: s3.Bucket;
  readonly presignRole: iam.Role;
  readonly healthTemplate: iot.CfnJobTemplate;
  /** The update signing keys by label (parameter updateSigningKeys). */
  readonly signingKeys: Record<string, kms.Key>;
  /** The principal allowed to sign: the parameter releaseSignerArn, or the role made here. */
  readonly releaseSignerArn: string;
  readonly releaseSignerRole?: iam.Role;

  constructor(scope: Construct, id: string, props: RemoteJobsProps) {
    super(scope, id);
    const p = props.params;
    const stack = Stack.of(this);

    this.bucket = new s3.Bucket(this, 'Artifacts', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 's3-job-artifacts/',
      lifecycleRules: [
        // An uploaded journal is evidence for a while, then only a cost (and personal data, if
        // the logs name operators): it goes after jobLogRetentionDays, its old versions a day later.
        {
          id: 'logs', prefix: LOGS_PREFIX, expiration: Duration.days(p.jobLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // A package or configuration overwritten under the same key stays recoverable for 90 days
        // (the job made for it names its SHA-256, so the gateway refuses the replacement anyway).
        ...DOWNLOAD_PREFIXES.map((prefix) => ({
          id: prefix.slice(0, -1), prefix, noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        })),
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // AWS IoT assumes this role to presign the download URL of a placeholder each time it hands a
    // document to a device. It can read packages/ and configs/ only: not the uploaded journals.
    // The confused-deputy conditions are the ones AWS IoT documents for its role trust policies.
    const downloadArns = DOWNLOAD_PREFIXES.map((prefix) => this.bucket.arnForObjects(`${prefix}*`));
    this.presignRole = new iam.Role(this, 'PresignRole', {
      description: 'AWS IoT Jobs: presigns the download URLs of job documents (packages/, configs/ of the job artifacts bucket)',
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': p.account },
          ArnLike: { 'aws:SourceArn': `arn:aws:iot:${p.region}:${p.account}:*` },
        },
      }),
      inlinePolicies: {
        download: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: downloadArns })],
        }),
      },
    });
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    acknowledge(this.presignRole,
      'The packages and configurations are uploaded per release under keys not known at deployment; the role reads '
      + 'objects of these two prefixes of the job artifacts bucket only (not logs/), for AWS IoT to presign downloads.',
      ...DOWNLOAD_PREFIXES.map((prefix) => `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`));

    // The health job's document is fixed, so it is a template. Template properties cannot be
    // changed in place (CloudFormation replaces the template), and a template's id is its name:
    // the id ends in a digest of its content, so a change makes a new template instead of failing.
    const health = loadJobConfig('health');
    const document = JSON.stringify({ operation: 'health' });
    const digest = crypto.createHash('sha256').update(JSON.stringify([document, health])).digest('hex').slice(0, 12);
    this.healthTemplate = new iot.CfnJobTemplate(this, 'HealthTemplate', {
      jobTemplateId: `${HEALTH_TEMPLATE_PREFIX}${digest}`,
      description: 'iotgw health snapshot (plugins/health): version, uptime, reconnects, queue drops, certificate days left, memory',
      document,
      timeoutConfig: toCloudFormation(health.timeoutConfig),
      jobExecutionsRolloutConfig: toCloudFormation(health.jobExecutionsRolloutConfig),
      abortConfig: toCloudFormation(health.abortConfig),
    });

    // The update signing keys. Each key policy keeps CDK's statement for the account (key
    // administration through IAM; without it the key could not be managed at all), and then
    // takes kms:Sign away from everyone but the release signer: an explicit Deny wins over any
    // IAM policy of the account, so granting kms:* to an administrator does not make them a
    // signer. The signer may sign only SHA-256 digests with ECDSA_SHA_256.
    if (p.releaseSignerArn !== undefined) {
      this.releaseSignerArn = p.releaseSignerArn;
    } else {
      this.releaseSignerRole = new iam.Role(this, 'ReleaseSigner', {
        description: 'Signs iotgw packages with the update signing key (kms:Sign over the SHA-256 of the .deb)',
        assumedBy: new iam.AccountRootPrincipal(),
      });
      this.releaseSignerArn = this.releaseSignerRole.roleArn;
    }
    const signer = new iam.ArnPrincipal(this.releaseSignerArn);
    this.signingKeys = Object.fromEntries(p.updateSigningKeys.map((label) => [label, this.signingKey(label, signer)]));
  }

  private signingKey(label: string, signer: iam.IPrincipal): kms.Key {
    const key = new kms.Key(this, `UpdateSigningKey${label}`, {
      description: `iotgw update signing key ${label}: ECDSA P-256 signatures of gateway packages (docs/remote-jobs.md)`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: signingKeyAlias(label),
      // A deleted signing key cannot be brought back, and every AMR that trusts only it could then
      // be updated only by hand: kept when the stack (or its label) goes, with the longest waiting
      // period; retiring it is a deliberate step (docs/remote-jobs.md).
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'ReleaseSignerSignsDigests',
      principals: [signer],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM, 'kms:MessageType': SIGNING_MESSAGE_TYPE } },
    }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'ReleaseSignerReadsThePublicKey',
      principals: [signer],
      actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
      resources: ['*'],
    }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'NoOtherSigner',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.releaseSignerArn } },
    }));
    // Two statements: the conditions of one statement must all hold, and either is enough to refuse.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DigestsOnly',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { StringNotEquals: { 'kms:MessageType': SIGNING_MESSAGE_TYPE } },
    }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'EcdsaSha256Only',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { StringNotEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    }));
    return key;
  }
}
