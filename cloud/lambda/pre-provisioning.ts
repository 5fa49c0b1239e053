// The pre-provisioning hook of the fleet provisioning template amr: may this RegisterThing go ahead?
// decide() is the one rule set; cloud/provisioning/pre-provisioning-cases.json is its table of cases,
// which localcore's built-in hook (no Lambda runtime there) is tested against too, so the two cannot
// drift. handlePreProvisioning() gathers the facts through a small port (the handler binds it to
// the AWS SDK: lambda/pre-provisioning-hook.ts), decides, and writes one JSON log line per decision;
// a refusal's line carries a CloudWatch Embedded Metric Format count, so no PutMetricData is needed.
import { X509Certificate } from 'crypto';

/** AWS IoT's thing-name rule; the only parameter of the amr template is the thing name. */
export const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
export const SERIAL_PARAMETER = 'SerialNumber';
/** The operator lock: a thing with this attribute set to anything but "false" is not re-provisioned. */
export const LOCK_ATTRIBUTE = 'locked';
/** The metric each refusal counts (namespace from the environment: lib/monitoring.ts's). */
export const REFUSAL_METRIC = 'ProvisioningRefused';

export type RefusalReason = 'invalid_parameters' | 'name_outside_prefix' | 'claim_not_device_bound' | 'serial_mismatch'
  | 'thing_locked';
export type Reason = 'allowed' | RefusalReason;

/** What the hook knows about one RegisterThing request: the fields of the shared case table. */
export interface HookFacts {
  /** The claim certificate of the connection: its subject CN (null: none) and whether it is fleet-wide. */
  claim: { subjectCommonName: string | null; fleetWide: boolean };
  /** The RegisterThing parameters exactly as sent (any JSON). */
  parameters: unknown;
  /** The requested thing, null when it does not exist. */
  thing: { attributes: Record<string, string> } | null;
  /**
   * The deployment's thingNamePrefix (absent or empty: none). The browser role allows the AMRs as
   * `<prefix>*`, so a thing named otherwise would be out of the console's reach: the hook is where
   * that naming rule is enforced for every thing fleet provisioning creates.
   */
  thingNamePrefix?: string;
}

export interface Decision {
  allowProvisioning: boolean;
  reason: Reason;
  /** A sentence for logs; it quotes at most the requested serial and the certificate's CN. */
  message: string;
}

const refuse = (reason: RefusalReason, message: string): Decision => ({ allowProvisioning: false, reason, message });
// Values that came from a device are quoted through JSON and shortened before they reach a log.
const quote = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 140 ? `${s.slice(0, 140)}...` : s;
};

/** The rules, first match wins (see the description in pre-provisioning-cases.json). */
export function decide(f: HookFacts): Decision {
  const p = f.parameters;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    return refuse('invalid_parameters', `the parameters must be an object with ${SERIAL_PARAMETER} only; got ${quote(p)}`);
  }
  const extra = Object.keys(p).filter((k) => k !== SERIAL_PARAMETER);
  if (extra.length > 0) {
    return refuse('invalid_parameters', `unknown parameter(s) ${quote(extra)}: only ${SERIAL_PARAMETER} is accepted`);
  }
  const serial = (p as Record<string, unknown>)[SERIAL_PARAMETER];
  if (typeof serial !== 'string' || !THING_NAME.test(serial)) {
    return refuse('invalid_parameters', `${SERIAL_PARAMETER} must be a thing name (${THING_NAME.source}); got ${quote(serial)}`);
  }
  // Before the claim binding, and for fleet-wide claims too: no claim certificate may create a
  // thing outside the name space the console's role is written for.
  const prefix = f.thingNamePrefix ?? '';
  if (!serial.startsWith(prefix)) {
    return refuse('name_outside_prefix', `thing name ${quote(serial)} does not start with the required prefix ${quote(prefix)} `
      + `(thingNamePrefix): the console's role covers only things named ${prefix}*`);
  }
  const cn = f.claim.subjectCommonName;
  if (!f.claim.fleetWide) {
    if (cn === null || cn === '') {
      return refuse('claim_not_device_bound',
        'the claim certificate names no device (no subject common name) and is not on the fleet-wide allow-list');
    }
    // Before the lock: another device's lock is not revealed to this claim certificate.
    if (serial !== cn) {
      return refuse('serial_mismatch', `the claim certificate is bound to ${quote(cn)}, not ${quote(serial)}`);
    }
  }
  const lock = f.thing?.attributes?.[LOCK_ATTRIBUTE];
  if (lock !== undefined && lock !== 'false') {
    return refuse('thing_locked', `thing ${serial} is locked by an operator (attribute ${LOCK_ATTRIBUTE}=${quote(lock)}); `
      + 'it provisions again only after an explicit unlock');
  }
  return { allowProvisioning: true, reason: 'allowed', message: `${serial} may provision` };
}

/** The subject common name of a PEM certificate; null if there is none, several, or no certificate. */
export function subjectCommonName(pem: string): string | null {
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch {
    return null;
  }
  // Node prints one "field=value" per line (RFC 2253 escaping, which a thing name never needs).
  const names = subject.split('\n').filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  return names.length === 1 ? names[0] : null;
}

/** The fleet-wide allow-list as the environment carries it: certificate ids, comma-separated. */
export function parseCertificateIdList(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0));
}

export interface HookPort {
  /** The PEM of a registered certificate; undefined when AWS IoT does not know the id. */
  certificatePem(certificateId: string): Promise<string | undefined>;
  /** The thing's attributes; null when the thing does not exist. */
  describeThing(thingName: string): Promise<{ attributes: Record<string, string> } | null>;
}

/**
 * The thing-name prefix as the environment carries it (THING_NAME_PREFIX): unset or empty = none;
 * otherwise it must be the start of a thing name. The stack passes the validated thingNamePrefix,
 * so anything else is a broken deployment: throwing fails every invocation, so RegisterThing is
 * refused (and the hook's error alarm fires) rather than checked against a prefix that means nothing.
 */
export function parseThingNamePrefix(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  if (!THING_NAME.test(value)) {
    throw new Error(`THING_NAME_PREFIX must be empty or the start of a thing name (${THING_NAME.source}); got ${quote(value)}`);
  }
  return value;
}

export interface HookConfig {
  /** Claim certificate ids that may name any serial (the explicit, weaker fleet-wide mode). */
  fleetClaimCertificateIds: ReadonlySet<string>;
  metricNamespace: string;
  /** Every requested thing name must start with it; empty = no prefix rule (parseThingNamePrefix). */
  thingNamePrefix: string;
}

const CERTIFICATE_ID = /^[0-9a-f]{64}$/;

/**
 * One hook invocation (input as AWS IoT documents it: claimCertificateId, certificateId,
 * certificatePem, templateArn, clientId, parameters). Returns the hook's output; AWS IoT errors
 * propagate, and a failed hook fails the RegisterThing request.
 */
export async function handlePreProvisioning(event: Record<string, unknown>, port: HookPort, config: HookConfig,
  writeLine: (line: string) => void, now: () => number = Date.now): Promise<{ allowProvisioning: boolean }> {
  const claimId = typeof event.claimCertificateId === 'string' ? event.claimCertificateId.toLowerCase() : '';
  const knownId = CERTIFICATE_ID.test(claimId);
  const pem = knownId ? await port.certificatePem(claimId) : undefined;
  const parameters = event.parameters;
  const serial = (typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters))
    ? (parameters as Record<string, unknown>)[SERIAL_PARAMETER] : undefined;
  const facts: HookFacts = {
    claim: {
      subjectCommonName: pem === undefined ? null : subjectCommonName(pem),
      fleetWide: knownId && config.fleetClaimCertificateIds.has(claimId),
    },
    parameters,
    thing: null,
    thingNamePrefix: config.thingNamePrefix,
  };
  // The thing matters only to the last rule: it is looked up only for a request the others allow,
  // so a malformed or foreign serial never reaches DescribeThing.
  let d = decide(facts);
  if (d.allowProvisioning) {
    facts.thing = await port.describeThing(serial as string);
    d = decide(facts);
  }
  const record: Record<string, unknown> = {
    event: 'pre-provisioning',
    allowProvisioning: d.allowProvisioning,
    reason: d.reason,
    message: d.message,
    claimCertificateId: knownId ? claimId : quote(event.claimCertificateId),
    fleetWide: facts.claim.fleetWide,
    requestedSerial: typeof serial === 'string' ? serial.slice(0, 128) : null,
    thingNamePrefix: config.thingNamePrefix === '' ? null : config.thingNamePrefix,
    certificateId: typeof event.certificateId === 'string' ? event.certificateId.slice(0, 64) : null,
    clientId: typeof event.clientId === 'string' ? event.clientId.slice(0, 128) : null,
  };
  if (!d.allowProvisioning) {
    record._aws = {
      Timestamp: now(),
      CloudWatchMetrics: [{
        Namespace: config.metricNamespace, Dimensions: [[]], Metrics: [{ Name: REFUSAL_METRIC, Unit: 'Count' }],
      }],
    };
    record[REFUSAL_METRIC] = 1;
  }
  writeLine(JSON.stringify(record));
  return { allowProvisioning: d.allowProvisioning };
}
