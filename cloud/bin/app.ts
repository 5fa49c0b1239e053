#!/usr/bin/env node
// cdk entry point: `cdk deploy --all -c params=params/<site>.json`.
import { App } from 'aws-cdk-lib';
import { APP_CONTEXT, buildApp } from '../lib/app';
import { loadParams } from '../lib/params';

const app = new App({ context: APP_CONTEXT });
const file = app.node.tryGetContext('params');
if (typeof file !== 'string' || file === '') {
  throw new Error('no parameters file: run with -c params=params/<site>.json (see params/example.json)');
}
buildApp(loadParams(file), app);
