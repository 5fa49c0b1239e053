// The account-specific values of a deployment, read from one JSON file (`-c params=FILE`, default
// params/example.json). Every value is checked here, so that a typo fails `cdk synth` with the key
// and the file named instead of surfacing as a half-deployed stack.
import * as fs from 'fs';
import * as path from 'path';

export interface DeploymentParams {
  /** 12-digit AWS account id. */
  readonly account: string;
  /** The seed's region; anything else is refused (cost table, endpoints and CSP assume it). */
  readonly region: string;
  /** Prefix of the Cognito domain `<prefix>.auth.<region>.amazoncognito.com` (managed login). */
  readonly cognitoDomainPrefix: string;
  /** OAuth redirect URIs of the console: exactly these, nothing derived (seed table No 2). */
  readonly callbackUrls: string[];
  /** Sign-out URIs of the console: exactly these. */
  readonly logoutUrls: string[];
  /** Passkey relying-party id; defaults to the Cognito prefix domain that hosts managed login. */
  readonly passkeyRelyingPartyId?: string;
  /** Optional custom domain of the console (CloudFront alias) and its ACM certificate in us-east-1. */
  readonly consoleDomainName?: string;
  readonly consoleCertificateArn?: string;
  /** The AMRs the console may see and call; without thingNamePrefix the browser role names exactly these. */
  readonly thingNames: string[];
  /**
   * Optional thing-name prefix (e.g. "AMR-"): the browser role then allows every thing whose name
   * starts with it, with one wildcard per resource instead of one ARN per thing, so that its size
   * does not grow with the fleet (IAM's role policy limit stops a role naming each thing at a few
   * dozen AMRs). Every name in thingNames must start with it.
   */
  readonly thingNamePrefix?: string;
  /** Email attribute of the shared user org-operator (optional). */
  readonly operatorEmail?: string;
  /** Where alarms are mailed (optional: the SNS topics exist either way). */
  readonly alarmEmail?: string;
  /** WAF allow list: the organisation's proxy addresses (IPv4 CIDR). Empty = no IP restriction. */
  readonly allowedIpCidrs: string[];
  /** CloudFront geo allow list (ISO 3166-1 alpha-2). */
  readonly geoAllowCountries: string[];
  /** WAF rate-based rule: requests per 5 minutes per client IP before blocking. */
  readonly wafRateLimit: number;
  /** Retention of every log group and of the access-log buckets, in days. */
  readonly logRetentionDays: number;
  /** Folder with the console's files to serve (relative to cloud/). */
  readonly consoleDir: string;
  /** Account-wide singletons: turn off if the account already has them configured elsewhere. */
  readonly iotLogging: boolean;
  readonly deviceDefenderAudit: boolean;
  /**
   * Claim certificate ids (64 hex) that may provision any serial: the explicit, weaker fleet-wide
   * mode. Empty (default) = every claim certificate provisions only the device its CN names.
   */
  readonly fleetClaimCertificateIds: string[];
  /**
   * The IAM role (or user) that signs gateway packages: the only principal the update signing key
   * (KMS) lets call kms:Sign. Unset: the stack creates a role for it (output ReleaseSignerRoleArn),
   * which IAM principals of the account may assume when their own policies allow it.
   */
  readonly releaseSignerArn?: string;
  /**
   * The update signing keys, by label (letters and digits): one KMS key each, alias
   * alias/iotgw-update-signing-<label>. One normally; two while the signing key is rotated (the
   * new one added, the old one removed once no AMR trusts it: docs/remote-jobs.md).
   */
  readonly updateSigningKeys: string[];
  /** Days an uploaded journal (logs/ in the job artifacts bucket) is kept. */
  readonly jobLogRetentionDays: number;
}

// CloudWatch Logs accepts only these retention values.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
  3288, 3653];

export class ParamsError extends Error {}

type Raw = Record<string, unknown>;

const KNOWN_KEYS = new Set([
  'account', 'region', 'cognitoDomainPrefix', 'callbackUrls', 'logoutUrls', 'passkeyRelyingPartyId',
  'consoleDomainName', 'consoleCertificateArn', 'thingNames', 'thingNamePrefix', 'operatorEmail', 'alarmEmail', 'allowedIpCidrs',
  'geoAllowCountries', 'wafRateLimit', 'logRetentionDays', 'consoleDir', 'iotLogging', 'deviceDefenderAudit',
  'fleetClaimCertificateIds', 'releaseSignerArn', 'updateSigningKeys', 'jobLogRetentionDays',
]);

export function parseParams(raw: unknown, where: string): DeploymentParams {
  const fail = (key: string, what: string): never => {
    throw new ParamsError(`${where}: "${key}" ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ParamsError(`${where}: the parameters must be a JSON object`);
  }
  const r = raw as Raw;
  for (const key of Object.keys(r)) {
    if (!KNOWN_KEYS.has(key)) fail(key, `is not a known parameter (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const str = (key: string, re: RegExp, hint: string, optional = false): string | undefined => {
    const v = r[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || !re.test(v)) fail(key, `must be ${hint}; got ${JSON.stringify(v)}`);
    return v as string;
  };
  const list = (key: string, re: RegExp, hint: string, min: number, dflt?: string[]): string[] => {
    const v = r[key] ?? dflt;
    if (!Array.isArray(v) || v.length < min) fail(key, `must be a list of at least ${min} ${hint}`);
    const out = v as unknown[];
    out.forEach((e, i) => {
      if (typeof e !== 'string' || !re.test(e)) fail(`${key}[${i}]`, `must be ${hint}; got ${JSON.stringify(e)}`);
    });
    if (new Set(out).size !== out.length) fail(key, 'has duplicates');
    return out as string[];
  };
  const int = (key: string, min: number, max: number, dflt: number): number => {
    const v = r[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(key, `must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = r[key] ?? dflt;
    if (typeof v !== 'boolean') fail(key, `must be true or false; got ${JSON.stringify(v)}`);
    return v as boolean;
  };

  // https only; http is accepted for localhost alone (a developer's console), as Cognito does.
  const url = /^(https:\/\/[a-z0-9.-]+(:[0-9]+)?(\/[^\s#*]*)?|http:\/\/localhost(:[0-9]+)?(\/[^\s#*]*)?)$/;
  const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
  const email = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  const region = str('region', /^[a-z0-9-]+$/, 'a region name', true) ?? 'ap-northeast-1';
  if (region !== 'ap-northeast-1') fail('region', 'must be ap-northeast-1 (the seed design is for Tokyo)');
  const consoleDomainName = str('consoleDomainName', hostname, 'a host name', true);
  const consoleCertificateArn = str('consoleCertificateArn',
    /^arn:aws:acm:us-east-1:[0-9]{12}:certificate\/[0-9a-f-]{36}$/, 'an ACM certificate ARN in us-east-1', true);
  if ((consoleDomainName === undefined) !== (consoleCertificateArn === undefined)) {
    fail('consoleDomainName', 'and "consoleCertificateArn" must be given together');
  }
  const callbackUrls = list('callbackUrls', url, 'https URLs (http only for localhost), without fragment', 1);
  const logoutUrls = list('logoutUrls', url, 'https URLs (http only for localhost), without fragment', 1);
  // The console signs out to its redirect URI (callbackUrls[0]): Cognito refuses a logout_uri it
  // does not list.
  if (!logoutUrls.includes(callbackUrls[0])) {
    fail('logoutUrls', `must include callbackUrls[0] (${callbackUrls[0]}): the console signs out to it`);
  }
  // Thing names: AWS IoT's character set, so none of IAM's wildcards (`*`, `?`), no `/` (a topic
  // level) and no `$` (a policy variable) can enter the role's ARNs through them.
  const thingName = /^[a-zA-Z0-9:_-]{1,128}$/;
  const thingNames = list('thingNames', thingName, 'AWS IoT thing names', 1);
  const thingNamePrefix = str('thingNamePrefix', thingName, 'the start of an AWS IoT thing name (letters, digits, : _ -)', true);
  if (thingNamePrefix !== undefined) {
    thingNames.forEach((t, i) => {
      if (!t.startsWith(thingNamePrefix)) {
        fail(`thingNames[${i}]`, `(${JSON.stringify(t)}) does not start with thingNamePrefix ${JSON.stringify(thingNamePrefix)}: `
          + 'the browser role allows only things named with the prefix, so the console could not reach it');
      }
    });
  }
  const logRetentionDays = int('logRetentionDays', 1, 3653, 90);
  const updateSigningKeys = list('updateSigningKeys', /^[A-Za-z0-9]{1,16}$/, 'key labels (1-16 letters and digits)', 1, ['1']);
  if (updateSigningKeys.length > 2) {
    fail('updateSigningKeys', 'has more than two keys: a rotation needs the old and the new one only; retire the oldest');
  }
  const account = str('account', /^[0-9]{12}$/, 'a 12-digit AWS account id') as string;
  // An IAM role or user of this account, named exactly: no wildcard can widen who may sign.
  const releaseSignerArn = str('releaseSignerArn', /^arn:aws:iam::[0-9]{12}:(role|user)\/[A-Za-z0-9+=,.@_\/-]{1,512}$/,
    'the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name>)', true);
  if (releaseSignerArn !== undefined && releaseSignerArn.split(':')[4] !== account) {
    fail('releaseSignerArn', `must be a role or user of the account ${account}; got ${releaseSignerArn}`);
  }
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    fail('logRetentionDays', `must be one of ${RETENTION_DAYS.join(', ')} (CloudWatch Logs values)`);
  }
  return {
    account,
    region,
    cognitoDomainPrefix: str('cognitoDomainPrefix', /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
      'a Cognito domain prefix (lower-case letters, digits and hyphens)') as string,
    callbackUrls,
    logoutUrls,
    passkeyRelyingPartyId: str('passkeyRelyingPartyId', hostname, 'a host name', true),
    consoleDomainName,
    consoleCertificateArn,
    thingNames,
    thingNamePrefix,
    operatorEmail: str('operatorEmail', email, 'an email address', true),
    alarmEmail: str('alarmEmail', email, 'an email address', true),
    allowedIpCidrs: list('allowedIpCidrs',
      /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\/([0-9]|[12][0-9]|3[0-2])$/,
      'IPv4 CIDRs like 203.0.113.10/32', 0, []),
    geoAllowCountries: list('geoAllowCountries', /^[A-Z]{2}$/, 'ISO country codes like JP', 1, ['JP']),
    wafRateLimit: int('wafRateLimit', 10, 2000000000, 300),
    logRetentionDays,
    consoleDir: str('consoleDir', /^[^\0]+$/, 'a folder path', true) ?? '../client/public',
    iotLogging: bool('iotLogging', true),
    deviceDefenderAudit: bool('deviceDefenderAudit', true),
    fleetClaimCertificateIds: list('fleetClaimCertificateIds', /^[0-9a-f]{64}$/,
      'AWS IoT certificate ids (64 lower-case hex digits)', 0, []),
    releaseSignerArn,
    updateSigningKeys,
    jobLogRetentionDays: int('jobLogRetentionDays', 1, 3653, 30),
  };
}

export function loadParams(file: string): DeploymentParams {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ParamsError(`cannot read the parameters file ${path.resolve(file)}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ParamsError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseParams(raw, file);
}

/** The relying party that managed login on the prefix domain presents to authenticators. */
export function relyingPartyId(p: DeploymentParams): string {
  return p.passkeyRelyingPartyId ?? `${p.cognitoDomainPrefix}.auth.${p.region}.amazoncognito.com`;
}
