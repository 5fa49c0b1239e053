// Shared test setup: synthesizes the whole app offline (explicit env, no AWS account needed) with
// the test fixture standing in for client/public, and reads the validation report (cdk-nag).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AmrApp, APP_CONTEXT, buildApp } from '../lib/app';
import { DeploymentParams, parseParams } from '../lib/params';

export const FIXTURE_DIR = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

export function testParams(overrides: Record<string, unknown> = {}): DeploymentParams {
  const raw = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'params.json'), 'utf8'));
  return parseParams({ ...raw, ...overrides }, 'test params');
}

export interface ValidationViolation {
  ruleName: string;
  description: string;
  violatingConstructs: { constructPath: string }[];
  acknowledgedBy?: unknown;
  [k: string]: unknown;
}
export interface Synthesized {
  params: DeploymentParams;
  gateway: Template;
  edge: Template;
  report: { pluginReports: { pluginName: string; conclusion: string; violations: ValidationViolation[];
    suppressedViolations?: ValidationViolation[] }[] };
  outdir: string;
  app: App;
  error?: Error;
}

export function synth(overrides: Record<string, unknown> = {}, mutate?: (a: AmrApp) => void): Synthesized {
  const params = testParams(overrides);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotgw-cloud-test-'));
  const app = new App({ outdir, context: APP_CONTEXT });
  let built: AmrApp;
  try {
    built = buildApp(params, app);
  } catch (e) {
    // A construct refused the parameters (e.g. a browser role over IAM's size limit): nothing to read.
    fs.rmSync(outdir, { recursive: true, force: true });
    throw e;
  }
  mutate?.(built);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e as Error;
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
  const result: Synthesized = {
    params,
    gateway: error ? (undefined as unknown as Template) : Template.fromStack(built.gateway),
    edge: error ? (undefined as unknown as Template) : Template.fromStack(built.edge),
    report, outdir, app, error,
  };
  return result;
}

export function cleanup(s: Synthesized): void {
  fs.rmSync(s.outdir, { recursive: true, force: true });
}
