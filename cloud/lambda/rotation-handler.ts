// Lambda entry point of the rotation step: binds lambda/rotation.ts to the AWS SDK v3 that the
// Node.js Lambda runtime ships (so nothing is bundled). Environment: IOT_DATA_ENDPOINT (the
// account's iot:Data-ATS endpoint host) for the reply; RETIRED_CERTIFICATES_TABLE (the DynamoDB
// table of certificates retired by a rotation, partition key certificateId; why a table:
// lambda/rotation.ts).
import { handleRotation, IotPort, RETIRED_RECORD_DAYS } from './rotation';

/* eslint-disable @typescript-eslint/no-require-imports */
// The SDK is provided by the runtime, not installed here: load it untyped at run time.
const iotSdk = require('@aws-sdk/client-iot');
const dataSdk = require('@aws-sdk/client-iot-data-plane');
const ddbSdk = require('@aws-sdk/client-dynamodb');

const iot = new iotSdk.IoTClient({});
const data = new dataSdk.IoTDataPlaneClient({ endpoint: `https://${process.env.IOT_DATA_ENDPOINT}` });
const ddb = new ddbSdk.DynamoDBClient({});
const retiredTable = process.env.RETIRED_CERTIFICATES_TABLE;

async function allPages<T>(fetch: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.next;
  } while (token);
  return out;
}

const port: IotPort = {
  async describeCertificate(id) {
    try {
      const r = await iot.send(new iotSdk.DescribeCertificateCommand({ certificateId: id }));
      return { arn: r.certificateDescription.certificateArn, status: r.certificateDescription.status };
    } catch (e) {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  },
  async listThingPrincipals(thing) {
    try {
      return await allPages(async (nextToken) => {
        const r = await iot.send(new iotSdk.ListThingPrincipalsCommand({ thingName: thing, nextToken }));
        return { items: r.principals ?? [], next: r.nextToken };
      });
    } catch (e) {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return [];
      throw e;
    }
  },
  async listPrincipalThings(principal) {
    return allPages(async (nextToken) => {
      const r = await iot.send(new iotSdk.ListPrincipalThingsCommand({ principal, nextToken }));
      return { items: r.things ?? [], next: r.nextToken };
    });
  },
  async deactivateCertificate(id) {
    await iot.send(new iotSdk.UpdateCertificateCommand({ certificateId: id, newStatus: 'INACTIVE' }));
  },
  async recordRetirement(id, thing) {
    const now = Math.floor(Date.now() / 1000);
    await ddb.send(new ddbSdk.PutItemCommand({
      TableName: retiredTable,
      Item: {
        certificateId: { S: id },
        thingName: { S: thing },
        retiredAt: { N: String(now) },
        // DynamoDB TTL (attribute expiresAt) deletes the record: the table stays bounded.
        expiresAt: { N: String(now + RETIRED_RECORD_DAYS * 86400) },
      },
    }));
  },
  async retiredBy(id) {
    // Consistent: the retry may follow the write within the same second.
    const r = await ddb.send(new ddbSdk.GetItemCommand({
      TableName: retiredTable, Key: { certificateId: { S: id } }, ConsistentRead: true,
      ProjectionExpression: 'thingName',
    }));
    return r.Item?.thingName?.S;
  },
  async detachThingPrincipal(thing, principal) {
    await iot.send(new iotSdk.DetachThingPrincipalCommand({ thingName: thing, principal }));
  },
  async publish(topic, payload) {
    await data.send(new dataSdk.PublishCommand({ topic, qos: 1, payload: Buffer.from(payload) }));
  },
};

export async function handler(event: Record<string, unknown>): Promise<void> {
  if (!retiredTable) throw new Error('RETIRED_CERTIFICATES_TABLE is not set (cloud/lib/iot.ts sets it)');
  await handleRotation(event, port, (m) => console.log(m));
}
