// The backend step of certificate rotation on AWS (cloud/provisioning/README.md, "The AWS
// equivalent"): after a device has connected with its new certificate it reports
//   amr/<thing>/certificate/rotated  {"oldCertificateId": "<64 hex>", "clientToken": "..."}
// (plugins/fleet_provisioning: rotated_report()), and the IoT rule
//   SELECT *, topic(2) AS thingName, principal() AS principal FROM 'amr/+/certificate/rotated'
// invokes this function. It makes the old certificate INACTIVE and detaches it from the thing, but
// only when the reporting connection's certificate and the old one are both attached to that very
// thing: a device can retire only its own certificates. The checks and reply payloads are the ones
// localcore makes (localcore/lib/rotation.cpp), so the device sees the same answers on both.
//
// "Already done" (the retry of a report whose reply was lost) is the answer only for a certificate
// that this thing's own rotation retired. Any other INACTIVE, detached certificate gets the same
// 403 as one attached to another thing, so a device cannot probe other certificates (issue 16,
// finding 9). localcore keeps that fact in its registry (retired_by_rotation_of); on AWS it is kept
// in a DynamoDB table (certificate id -> thing), not in AWS IoT itself:
// - a thing attribute has no room: things provisioned by the template amr have no thing type, and
//   such a thing has at most three attributes
//   (https://docs.aws.amazon.com/iot/latest/developerguide/thing-types.html), all taken: model,
//   serialNumber and the operator's lock (docs/cloud-deployment.md); a fourth would make the
//   operator's `locked` update fail;
// - a device certificate offers no writable field but its status: the certificate APIs
//   (CreateCertificateFromCsr, RegisterCertificate, UpdateCertificate) take no tags, and AWS IoT's
//   tagging covers thing groups, thing types, rules, jobs, policies and the like, not them;
// - a thing shadow is writable by the device itself (publish on $aws/things/<thing>/*), so a device
//   could forge the record and get the oracle back.
// The table is written only by this function, keyed by certificate id (one item per rotation,
// expired by DynamoDB TTL), and read with a consistent GetItem only in the "already done" case.
//
// The AWS calls go through the IotPort interface so that the logic is unit-tested offline.

/**
 * How long the table remembers a retirement. A device sends its pending report again until it is
 * answered, also after weeks offline; after this, its retry gets the 403 of a foreign certificate,
 * which the device logs and drops (the certificate is retired anyway). DynamoDB deletes expired
 * items only eventually, so a record may live longer: still this thing's own certificate.
 */
export const RETIRED_RECORD_DAYS = 365;

export interface CertificateInfo {
  arn: string;
  status: string; // ACTIVE | INACTIVE | REVOKED | PENDING_TRANSFER | PENDING_ACTIVATION | ...
}

export interface IotPort {
  /** undefined when the certificate does not exist (ResourceNotFoundException). */
  describeCertificate(id: string): Promise<CertificateInfo | undefined>;
  /** Every principal ARN attached to the thing (all pages); [] when the thing does not exist. */
  listThingPrincipals(thing: string): Promise<string[]>;
  /** Every thing the principal is attached to (all pages). */
  listPrincipalThings(principalArn: string): Promise<string[]>;
  deactivateCertificate(id: string): Promise<void>;
  /** Remembers that `thing`'s rotation retired certificate `id` (overwrites an older record). */
  recordRetirement(id: string, thing: string): Promise<void>;
  /** The thing whose rotation retired certificate `id`; undefined when none did (or the record expired). */
  retiredBy(id: string): Promise<string | undefined>;
  detachThingPrincipal(thing: string, principalArn: string): Promise<void>;
  publish(topic: string, payload: string): Promise<void>;
}

export interface RotationReply {
  topic: string;
  payload: Record<string, unknown>;
}

const THING = /^[a-zA-Z0-9:_-]{1,128}$/;
const CERT_ID = /^[0-9a-fA-F]{64}$/;
const MAX_CLIENT_TOKEN_BYTES = 64;

class Rejection {
  constructor(readonly code: number, readonly message: string) {}
}

/**
 * Decides, acts and publishes the reply. Returns the reply, or undefined when the event names no
 * valid thing (then there is no topic to answer on; the event is only logged).
 */
export async function handleRotation(event: Record<string, unknown>, iot: IotPort,
  log: (msg: string) => void = () => undefined): Promise<RotationReply | undefined> {
  const thing = event.thingName;
  if (typeof thing !== 'string' || !THING.test(thing)) {
    log(`ignored: the rule gave no valid thing name (${JSON.stringify(thing)})`);
    return undefined;
  }
  const base = `amr/${thing}/certificate/rotated`;
  let clientToken: string | undefined;
  let payload: Record<string, unknown>;
  let accepted = false;
  try {
    const example = '{"oldCertificateId": "<64 hex characters>", "clientToken": "..."}';
    if ('clientToken' in event) {
      const t = event.clientToken;
      if (typeof t !== 'string' || Buffer.byteLength(t, 'utf8') > MAX_CLIENT_TOKEN_BYTES) {
        throw new Rejection(400, 'clientToken must be a string of at most 64 bytes');
      }
      clientToken = t;
    }
    const oldRaw = event.oldCertificateId;
    if (typeof oldRaw !== 'string' || !CERT_ID.test(oldRaw)) {
      throw new Rejection(400, `oldCertificateId is missing or not a certificate id (64 hex characters); send ${example}`);
    }
    const oldId = oldRaw.toLowerCase();
    const principal = event.principal;
    if (typeof principal !== 'string' || !CERT_ID.test(principal)) {
      throw new Rejection(403, 'this connection is not authenticated by a certificate; a device reports its rotation '
        + 'connected with its new certificate');
    }
    const newId = principal.toLowerCase();
    if (oldId === newId) {
      throw new Rejection(400, 'oldCertificateId is the certificate of this connection; send the id of the certificate '
        + 'being replaced, connected with the new one');
    }
    const current = await iot.describeCertificate(newId);
    if (!current || current.status !== 'ACTIVE') {
      throw new Rejection(403, "this connection's certificate is not ACTIVE; connect with the new, active certificate "
        + 'before reporting the rotation');
    }
    const principals = await iot.listThingPrincipals(thing);
    if (!principals.includes(current.arn)) {
      throw new Rejection(403, `this connection's certificate is not attached to thing '${thing}'; register the new `
        + 'certificate for this thing first');
    }
    const previous = await iot.describeCertificate(oldId);
    if (!previous) throw new Rejection(404, `certificate ${oldId} does not exist; check oldCertificateId`);
    if (previous.status === 'REVOKED') {
      throw new Rejection(409, `certificate ${oldId} is REVOKED, which is permanent; it cannot become INACTIVE and `
        + 'needs no rotation');
    }
    if (!principals.includes(previous.arn)) {
      // Already deactivated and detached by this thing's rotation: the retry of a rotation whose
      // reply was lost. Only this thing's: any other certificate, retired or not, gets the answer
      // of a certificate attached elsewhere, so a device learns nothing about others' certificates.
      const retired = previous.status === 'INACTIVE'
        && (await iot.listPrincipalThings(previous.arn)).length === 0
        && (await iot.retiredBy(oldId)) === thing;
      if (!retired) {
        throw new Rejection(403, `certificate ${oldId} is not attached to thing '${thing}'; a device can only retire `
          + 'its own certificates');
      }
      log(`retry: certificate ${oldId} is already INACTIVE and detached by this thing's rotation`);
    } else {
      // Deactivate, record, detach: each step is repeated safely, and until the detach has
      // happened the certificate is still attached, so the device's retry takes this branch again
      // and finishes the job. The record comes before the detach, so that no certificate is ever
      // detached by a rotation without the record the retry needs to be accepted.
      if (previous.status !== 'INACTIVE') await iot.deactivateCertificate(oldId);
      await iot.recordRetirement(oldId, thing);
      await iot.detachThingPrincipal(thing, previous.arn);
      log(`thing ${thing}: certificate ${oldId} is now INACTIVE and detached; ${newId} is in use`);
    }
    payload = { oldCertificateId: oldId, newCertificateId: newId, status: 'INACTIVE' };
    accepted = true;
  } catch (e) {
    if (e instanceof Rejection) {
      payload = { code: e.code, message: e.message };
    } else {
      log(`internal failure: ${(e as Error).stack ?? String(e)}`);
      payload = { code: 500, message: `internal failure: ${(e as Error).message ?? String(e)}` };
    }
    log(`thing ${thing}: rejected ${payload.code}: ${payload.message}`);
  }
  if (clientToken !== undefined) payload.clientToken = clientToken;
  const reply = { topic: `${base}/${accepted ? 'accepted' : 'rejected'}`, payload };
  await iot.publish(reply.topic, JSON.stringify(reply.payload));
  return reply;
}
