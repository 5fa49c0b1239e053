// The project's Lambda functions: compiled from lambda/*.ts by tsc into dist/lambda (no bundling:
// they use only the AWS SDK v3 that the Node.js runtime provides), each with its own log group
// and retention.
import * as path from 'path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DeploymentParams } from './params';

export const LAMBDA_ASSET_DIR = path.resolve(__dirname, '..', 'lambda');
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

export function lambdaFunction(scope: Construct, id: string, p: DeploymentParams,
  props: Omit<lambda.FunctionProps, 'code' | 'runtime' | 'logGroup'>): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: p.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Its own role: writing to its own log group only (no AWS managed policy).
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Lambda ${id}`,
  });
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn],
  }));
  return new lambda.Function(scope, id, {
    role,
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    code: lambda.Code.fromAsset(LAMBDA_ASSET_DIR, { exclude: ['*.d.ts', '*.map'] }),
    memorySize: 256,
    logGroup,
    ...props,
  });
}
