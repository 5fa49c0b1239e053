// cdk-nag acknowledgements. cdk-nag 3 reports rules with several findings (IAM4, IAM5) per finding,
// e.g. AwsSolutions-IAM5[Resource::arn:aws:iot:...:cert/*]; each is acknowledged individually, so
// a new wildcard added later is reported instead of being swallowed by an older reason.
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  if (ids.length === 0) throw new Error('acknowledge: no rule ids');
  // The plugin prefix names cdk-nag's report; without it CDK files the id as an annotation rule.
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id: `AwsSolutions::${id}`, reason })));
}

/** The IAM5 finding id of a resource ARN as cdk-nag prints it (policy variables as <name>). */
export function iam5Resource(arn: string): string {
  return `AwsSolutions-IAM5[Resource::${arn.replace(/\$\{([^}]+)\}/g, '<$1>')}]`;
}

export const LAMBDA_BASIC_EXECUTION =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
