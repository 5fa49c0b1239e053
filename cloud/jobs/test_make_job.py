#!/usr/bin/python3
"""Offline tests of make_job.py (run by scripts/test-cloud; python3 -m unittest in cloud/jobs/).

Real openssl keys and a real .deb made with dpkg-deb; AWS is never called: KMS, S3 and IoT are
botocore Stubbers that check every request, and the logs URL is presigned with made-up
credentials (presigning is pure signing) and then checked by an independent SigV4 computation.
Needs python3-boto3, openssl and dpkg-deb (Debian's dpkg).
"""
import base64
import contextlib
import datetime
import hashlib
import hmac
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

import boto3
import botocore.session
from botocore.stub import ANY, Stubber
from botocore.validate import ParamValidator

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'make_job.py')
_spec = importlib.util.spec_from_file_location('make_job', SCRIPT)
make_job = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_job)

REGION = 'ap-northeast-1'
ACCOUNT = '123456789012'
BUCKET = 'amrgateway-jobsartifacts82f24977-0123456789ab'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/AmrGateway-JobsPresignRole47BB737B-ABCDEF'
THING = f'arn:aws:iot:{REGION}:{ACCOUNT}:thing/AMR-001'
GROUP = f'arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/amr-canary'
ACCESS_KEY, SECRET_KEY = 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
ENV = {
    'AWS_ACCESS_KEY_ID': ACCESS_KEY, 'AWS_SECRET_ACCESS_KEY': SECRET_KEY, 'AWS_CONFIG_FILE': os.devnull,
    'AWS_SHARED_CREDENTIALS_FILE': os.devnull, 'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_DEFAULT_REGION': REGION,
}


def run(*argv, data=None):
    return subprocess.run(list(argv), input=data, capture_output=True, check=True).stdout


def make_deb(directory, name='iotgw', version='0.2.0'):
    root = os.path.join(directory, f'{name}-root')
    os.makedirs(os.path.join(root, 'DEBIAN'))
    os.makedirs(os.path.join(root, 'usr/share/doc', name))
    with open(os.path.join(root, 'DEBIAN/control'), 'w', encoding='ascii') as f:
        f.write(f'Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: test <t@example.com>\n'
                'Description: test package\n')
    with open(os.path.join(root, 'usr/share/doc', name, 'README'), 'wb') as f:
        f.write(os.urandom(3000))
    deb = os.path.join(directory, f'{name}_{version}_all.deb')
    run('dpkg-deb', '--root-owner-group', '-Zgzip', '--build', root, deb)
    return deb


def verify(package, signature_der, public_pem_path):
    with tempfile.NamedTemporaryFile() as sig:
        sig.write(signature_der)
        sig.flush()
        r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', public_pem_path, '-signature', sig.name, package],
                           capture_output=True, check=False)
        return r.returncode == 0 and b'Verified OK' in r.stdout


def create_job_shape():
    return botocore.session.get_session().get_service_model('iot').operation_model('CreateJob').input_shape


def sigv4_query_signature(method, url, secret):
    """An S3 presigned URL's signature, computed from the SigV4 specification (query-string
    authentication, UNSIGNED-PAYLOAD), independently of botocore."""
    u = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    enc = lambda s: urllib.parse.quote(s, safe='-_.~')  # noqa: E731
    query = '&'.join(f'{k}={v}' for k, v in sorted((enc(k), enc(v)) for k, v in pairs if k != 'X-Amz-Signature'))
    fields = dict(pairs)
    canonical = '\n'.join([method, urllib.parse.quote(u.path, safe='/-_.~'), query, f'host:{u.hostname}', '', 'host',
                           'UNSIGNED-PAYLOAD'])
    date, scope = fields['X-Amz-Date'], fields['X-Amz-Credential'].split('/', 1)[1]
    to_sign = '\n'.join(['AWS4-HMAC-SHA256', date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ('AWS4' + secret).encode()
    for part in scope.split('/'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.key = os.path.join(d, 'site.key')
        cls.pub = os.path.join(d, 'site.pem')
        run('openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', cls.key)
        run('openssl', 'pkey', '-in', cls.key, '-pubout', '-out', cls.pub)
        cls.other_key = os.path.join(d, 'other.key')
        cls.other_pub = os.path.join(d, 'other.pem')
        run('openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', cls.other_key)
        run('openssl', 'pkey', '-in', cls.other_key, '-pubout', '-out', cls.other_pub)
        cls.p384 = os.path.join(d, 'p384.key')
        run('openssl', 'ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', cls.p384)
        cls.deb = make_deb(d)
        cls.other_deb = make_deb(d, name='other')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.saved_env = dict(os.environ)
        for k in list(os.environ):
            if k.startswith('AWS_'):
                del os.environ[k]
        os.environ.update(ENV)
        self.out = tempfile.mkdtemp(dir=self.tmp.name)
        self.saved_factory = make_job.CLIENT_FACTORY
        self.stubs = {}

    def tearDown(self):
        make_job.CLIENT_FACTORY = self.saved_factory
        os.environ.clear()
        os.environ.update(self.saved_env)

    def stub(self, service):
        """A real botocore client of `service` whose calls are answered by a Stubber."""
        client = boto3.session.Session(region_name=REGION).client(service)
        stubber = Stubber(client)
        self.stubs[service] = (client, stubber)
        make_job.CLIENT_FACTORY = lambda svc, args, **kw: self.stubs[svc][0]
        return stubber

    def make(self, *argv):
        """Runs make_job.main; returns (exit code, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = make_job.main([str(a) for a in argv])
        return code, out.getvalue(), err.getvalue()

    def made(self, job_id):
        with open(os.path.join(self.out, f'{job_id}.document.json'), encoding='utf-8') as f:
            document = json.load(f)
        with open(os.path.join(self.out, f'{job_id}.create-job.json'), encoding='utf-8') as f:
            request = json.load(f)
        return document, request

    def assertValidCreateJob(self, request):
        report = ParamValidator().validate(request, create_job_shape())
        self.assertFalse(report.has_errors(), report.generate_report())

    def assertRefused(self, pattern, *argv):
        code, out, err = self.make(*argv)
        self.assertEqual(code, 2, f'not refused: {out}{err}')
        self.assertRegex(err, pattern)

    def job_config(self, operation):
        with open(os.path.join(HERE, f'{operation}.json'), encoding='utf-8') as f:
            return json.load(f)


class PackageTest(Base):
    def package(self, *extra, job_id='package-test'):
        return self.make('package', '--package', self.deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                         '--targets', GROUP, '--job-id', job_id, '--out', self.out, *extra)

    def test_document_matches_the_package_and_its_signature_verifies(self):
        code, out, err = self.package('--sign-key', self.key, '--confirm-timeout', 600)
        self.assertEqual(code, 0, err)
        document, request = self.made('package-test')
        with open(self.deb, 'rb') as f:
            data = f.read()
        self.assertEqual(set(document), {'operation', 'url', 'version', 'size', 'sha256', 'signature', 'confirm_timeout'})
        self.assertEqual(document['operation'], 'package')
        self.assertEqual(document['size'], len(data))
        self.assertEqual(document['sha256'], hashlib.sha256(data).hexdigest())
        self.assertEqual(document['version'], '0.2.0', 'read from the .deb')
        self.assertEqual(document['confirm_timeout'], 600)
        self.assertEqual(document['url'], '${aws:iot:s3-presigned-url-v2:https://s3.ap-northeast-1.amazonaws.com/'
                                          f'{BUCKET}/packages/iotgw_0.2.0_all.deb}}')
        signature = base64.b64decode(document['signature'], validate=True)
        self.assertEqual(signature[0], 0x30, 'DER SEQUENCE')
        self.assertTrue(verify(self.deb, signature, self.pub))
        self.assertFalse(verify(self.deb, signature, self.other_pub))
        self.assertFalse(verify(self.other_deb, signature, self.pub))
        self.assertIn('signature verified', out)

    def test_request_is_a_valid_create_job_with_the_repos_rollout_abort_and_timeout(self):
        self.assertEqual(self.package('--sign-key', self.key)[0], 0)
        document, request = self.made('package-test')
        self.assertValidCreateJob(request)
        self.assertEqual(json.loads(request['document']), document)
        self.assertEqual(request['jobId'], 'package-test')
        self.assertEqual(request['targets'], [GROUP])
        self.assertEqual(request['targetSelection'], 'SNAPSHOT')
        config = self.job_config('package')
        for k in ('timeoutConfig', 'jobExecutionsRolloutConfig', 'abortConfig'):
            self.assertEqual(request[k], config[k])
        self.assertEqual(request['presignedUrlConfig'], {'roleArn': ROLE, 'expiresInSec': config['presignedUrlConfig']['expiresInSec']})
        self.assertNotIn('confirm_timeout', document, 'the gateway\'s default unless asked for')

    def test_prints_what_is_left_upload_check_create(self):
        code, out, _ = self.package('--sign-key', self.key)
        self.assertEqual(code, 0)
        doc = os.path.join(self.out, 'package-test.document.json')
        self.assertIn(f'aws s3 cp {self.deb} s3://{BUCKET}/packages/iotgw_0.2.0_all.deb', out)
        self.assertIn(f'iotgw update verify --package {self.deb} --document {doc} --keys', out)
        self.assertIn(f'aws iot create-job --cli-input-json file://{self.out}/package-test.create-job.json', out)

    def test_a_generated_job_id_is_an_aws_job_id_naming_the_version(self):
        code, out, _ = self.make('package', '--package', self.deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                                 '--targets', GROUP, '--out', self.out, '--sign-key', self.key)
        self.assertEqual(code, 0)
        job_id = out.split('job id:', 1)[1].split()[0]
        self.assertRegex(job_id, r'^package-0_2_0-[0-9]{8}T[0-9]{6}Z$')
        self.assertValidCreateJob(self.made(job_id)[1])

    def test_kms_signs_the_sha256_digest_in_the_format_openssl_verifies(self):
        with open(self.deb, 'rb') as f:
            digest = hashlib.sha256(f.read()).digest()
        # What KMS returns for Sign with MessageType DIGEST and ECDSA_SHA_256: an ECDSA signature of
        # the given digest, DER; made here by openssl over the same 32 bytes with the local key.
        signature = run('openssl', 'pkeyutl', '-sign', '-inkey', self.key, data=digest)
        public_der = run('openssl', 'pkey', '-pubin', '-in', self.pub, '-outform', 'DER')
        kms = self.stub('kms')
        key_id = 'alias/iotgw-update-signing-1'
        kms.add_response('sign', {'KeyId': 'arn:aws:kms:ap-northeast-1:123456789012:key/1', 'Signature': signature,
                                  'SigningAlgorithm': 'ECDSA_SHA_256'},
                         {'KeyId': key_id, 'Message': digest, 'MessageType': 'DIGEST', 'SigningAlgorithm': 'ECDSA_SHA_256'})
        kms.add_response('get_public_key', {'KeyId': 'k', 'PublicKey': public_der, 'KeySpec': 'ECC_NIST_P256',
                                            'KeyUsage': 'SIGN_VERIFY', 'SigningAlgorithms': ['ECDSA_SHA_256']},
                         {'KeyId': key_id})
        with kms:
            code, _, err = self.package('--kms-key-id', key_id)
            kms.assert_no_pending_responses()
        self.assertEqual(code, 0, err)
        document, _ = self.made('package-test')
        self.assertEqual(base64.b64decode(document['signature']), signature)
        self.assertTrue(verify(self.deb, signature, self.pub), 'openssl dgst -sha256 -verify over the .deb')

    def test_kms_signature_that_does_not_verify_is_refused(self):
        with open(self.deb, 'rb') as f:
            digest = hashlib.sha256(f.read()).digest()
        signature = run('openssl', 'pkeyutl', '-sign', '-inkey', self.other_key, data=digest)
        kms = self.stub('kms')
        kms.add_response('sign', {'Signature': signature}, {'KeyId': 'k', 'Message': digest, 'MessageType': 'DIGEST',
                                                            'SigningAlgorithm': 'ECDSA_SHA_256'})
        kms.add_response('get_public_key', {'PublicKey': run('openssl', 'pkey', '-pubin', '-in', self.pub, '-outform', 'DER'),
                                            'KeySpec': 'ECC_NIST_P256', 'SigningAlgorithms': ['ECDSA_SHA_256']}, {'KeyId': 'k'})
        with kms:
            self.assertRefused(r'does not verify with the public key', 'package', '--package', self.deb, '--bucket', BUCKET,
                               '--presign-role-arn', ROLE, '--targets', GROUP, '--out', self.out, '--kms-key-id', 'k')
        self.assertFalse(os.listdir(self.out), 'nothing written')

    def test_signature_file_der_or_base64_checked_with_verify_key(self):
        der = os.path.join(self.out, 'sig.der')
        run('openssl', 'dgst', '-sha256', '-sign', self.key, '-out', der, self.deb)
        b64 = os.path.join(self.out, 'sig.b64')
        with open(der, 'rb') as f, open(b64, 'w', encoding='ascii') as g:
            g.write(base64.b64encode(f.read()).decode() + '\n')
        for i, path in enumerate((der, b64)):
            code, _, err = self.package('--signature-file', path, '--verify-key', self.pub, job_id=f'p{i}')
            self.assertEqual(code, 0, err)
            document, _ = self.made(f'p{i}')
            self.assertTrue(verify(self.deb, base64.b64decode(document['signature']), self.pub))
        self.assertRefused(r'does not verify', 'package', '--package', self.deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                           '--targets', GROUP, '--out', self.out, '--signature-file', b64, '--verify-key', self.other_pub)
        code, _, err = self.package('--signature-file', b64, job_id='unchecked')
        self.assertEqual(code, 0)
        self.assertIn('was not checked here', err)

    def test_refusals(self):
        common = ['--bucket', BUCKET, '--presign-role-arn', ROLE, '--targets', GROUP, '--out', self.out]
        for pattern, argv in [
            (r'differs from the package\'s own version 0.2.0', ['--package', self.deb, '--version', '0.3.0', '--sign-key', self.key]),
            (r'is the package \'other\'; the update helper installs only iotgw', ['--package', self.other_deb, '--sign-key', self.key]),
            (r'is not under packages/', ['--package', self.deb, '--key', 'logs/x.deb', '--sign-key', self.key]),
            (r'is not under packages/', ['--package', self.deb, '--key', 'configs/x.deb', '--sign-key', self.key]),
            (r'--key: .* use letters', ['--package', self.deb, '--key', 'packages/a b.deb', '--sign-key', self.key]),
            (r'--key: .* use letters', ['--package', self.deb, '--key', 'packages/${x}.deb', '--sign-key', self.key]),
            (r'--key: .* use letters', ['--package', self.deb, '--key', 'packages/../x.deb', '--sign-key', self.key]),
            (r'is not an ECDSA P-256 key', ['--package', self.deb, '--sign-key', self.p384]),
            (r'exactly one of', ['--package', self.deb, '--sign-key', self.key, '--kms-key-id', 'k']),
            (r'exactly one of', ['--package', self.deb]),
            (r'--confirm-timeout must be 30 to 3600', ['--package', self.deb, '--sign-key', self.key, '--confirm-timeout', '10']),
            (r'--job-id: .* is not a job id', ['--package', self.deb, '--sign-key', self.key, '--job-id', 'a.b']),
        ]:
            with self.subTest(pattern):
                self.assertRefused(pattern, 'package', *common, *argv)
        self.assertRefused(r'not an S3 bucket name', 'package', '--package', self.deb, '--bucket', 'Bad_Bucket',
                           '--presign-role-arn', ROLE, '--targets', GROUP, '--sign-key', self.key)
        self.assertRefused(r'is in us-east-1, the job in ap-northeast-1', 'package', '--package', self.deb, '--bucket', BUCKET,
                           '--presign-role-arn', ROLE, '--sign-key', self.key,
                           '--targets', f'arn:aws:iot:us-east-1:{ACCOUNT}:thing/AMR-001')
        self.assertRefused(r'is not a thing or thing group ARN', 'package', '--package', self.deb, '--bucket', BUCKET,
                           '--presign-role-arn', ROLE, '--sign-key', self.key, '--targets', 'AMR-001')


class ConfigTest(Base):
    def write_toml(self, text):
        path = os.path.join(self.out, 'site.toml')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return path

    def test_inline(self):
        toml = self.write_toml('# 現場の設定\n[connections.cloud]\ntype = "mqtt"\n')
        code, out, err = self.make('config', '--toml', toml, '--inline', '--targets', THING, '--job-id', 'c1', '--out', self.out)
        self.assertEqual(code, 0, err)
        document, request = self.made('c1')
        with open(toml, encoding='utf-8') as f:
            self.assertEqual(document, {'operation': 'config', 'toml': f.read()})
        self.assertNotIn('presignedUrlConfig', request, 'no placeholder, no presign role')
        self.assertValidCreateJob(request)
        self.assertEqual(request['timeoutConfig'], self.job_config('config')['timeoutConfig'])
        self.assertIn(f'iotgw check --config {toml}', out)

    def test_by_url_with_its_sha256(self):
        toml = self.write_toml('[connections.cloud]\ntype = "mqtt"\n')
        code, out, err = self.make('config', '--toml', toml, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                                   '--targets', GROUP, '--job-id', 'c2', '--out', self.out)
        self.assertEqual(code, 0, err)
        document, request = self.made('c2')
        with open(toml, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(document, {
            'operation': 'config', 'sha256': digest,
            'url': f'${{aws:iot:s3-presigned-url-v2:https://s3.ap-northeast-1.amazonaws.com/{BUCKET}/configs/site.toml}}'})
        self.assertEqual(request['presignedUrlConfig']['roleArn'], ROLE)
        self.assertValidCreateJob(request)
        self.assertIn(f'aws s3 cp {toml} s3://{BUCKET}/configs/site.toml', out)

    def test_refusals(self):
        big = self.write_toml('#' * 24577)
        self.assertRefused(r'at most 24576 inline', 'config', '--toml', big, '--inline', '--targets', THING, '--out', self.out)
        # Within the handler's limit, but escaping makes the document larger than AWS IoT takes.
        quoted = self.write_toml('"\\' * 12000)
        self.assertRefused(r'the job document is [0-9]+ bytes; AWS IoT and the gateway take at most 32768',
                           'config', '--toml', quoted, '--inline', '--targets', THING, '--out', self.out)
        ok = self.write_toml('a = 1\n')
        self.assertRefused(r'--bucket .* or --inline', 'config', '--toml', ok, '--targets', THING, '--out', self.out)
        self.assertRefused(r'needs the presign role', 'config', '--toml', ok, '--bucket', BUCKET, '--targets', THING, '--out', self.out)
        self.assertRefused(r'is not under configs/', 'config', '--toml', ok, '--bucket', BUCKET, '--key', 'packages/site.toml',
                           '--presign-role-arn', ROLE, '--targets', THING, '--out', self.out)
        with open(os.path.join(self.out, 'latin1.toml'), 'wb') as f:
            f.write(b'# caf\xe9\n')
        self.assertRefused(r'is not UTF-8', 'config', '--toml', os.path.join(self.out, 'latin1.toml'), '--inline',
                           '--targets', THING, '--out', self.out)


class LogsTest(Base):
    def logs(self, *extra, job_id='logs-test'):
        return self.make('logs', '--bucket', BUCKET, '--targets', THING, '--job-id', job_id, '--out', self.out, *extra)

    def test_url_is_a_presigned_put_for_the_things_key_with_an_expiry(self):
        code, out, err = self.logs('--expires', 7200)
        self.assertEqual(code, 0, err)
        document, request = self.made('logs-test')
        self.assertEqual(set(document), {'operation', 'url', 'lines'})
        self.assertEqual(document['lines'], 2000)
        u = urllib.parse.urlsplit(document['url'])
        q = dict(urllib.parse.parse_qsl(u.query))
        self.assertEqual(u.scheme, 'https')
        self.assertEqual(u.hostname, f'{BUCKET}.s3.ap-northeast-1.amazonaws.com', 'the regional endpoint, no redirect')
        self.assertEqual(u.path, '/logs/AMR-001/logs-test.txt', 'one key per job, under the thing')
        self.assertEqual(q['X-Amz-Algorithm'], 'AWS4-HMAC-SHA256')
        self.assertEqual(q['X-Amz-Expires'], '7200')
        self.assertEqual(q['X-Amz-SignedHeaders'], 'host', 'any Content-Type the gateway sends is accepted')
        date = q['X-Amz-Date']
        self.assertEqual(q['X-Amz-Credential'], f'{ACCESS_KEY}/{date[:8]}/ap-northeast-1/s3/aws4_request')
        signed = datetime.datetime.strptime(date, '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((datetime.datetime.now(datetime.timezone.utc) - signed).total_seconds()), 300)
        # The signature is a PUT's: recomputed from the SigV4 specification, it matches for PUT only.
        self.assertEqual(q['X-Amz-Signature'], sigv4_query_signature('PUT', document['url'], SECRET_KEY))
        self.assertNotEqual(q['X-Amz-Signature'], sigv4_query_signature('GET', document['url'], SECRET_KEY))
        self.assertValidCreateJob(request)
        self.assertNotIn('presignedUrlConfig', request)
        self.assertEqual(request['targets'], [THING])
        self.assertEqual(request['timeoutConfig'], self.job_config('logs')['timeoutConfig'])
        self.assertIn(f'aws s3 cp s3://{BUCKET}/logs/AMR-001/logs-test.txt -', out)
        self.assertNotIn('warning', err)

    def test_time_range_and_max_bytes(self):
        code, _, err = self.logs('--since', '2026-12-06T08:00:00Z', '--until', '2026-12-06T09:30:00Z', '--max-bytes', 1048576)
        self.assertEqual(code, 0, err)
        document, _ = self.made('logs-test')
        self.assertEqual({k: v for k, v in document.items() if k != 'url'},
                         {'operation': 'logs', 'since': '2026-12-06T08:00:00Z', 'until': '2026-12-06T09:30:00Z', 'max_bytes': 1048576})
        code, _, _ = self.logs('--lines', 500, job_id='l2')
        self.assertEqual(code, 0)
        self.assertEqual(self.made('l2')[0]['lines'], 500)

    def test_generated_job_id_names_the_thing(self):
        code, out, _ = self.make('logs', '--bucket', BUCKET, '--out', self.out,
                                 '--targets', f'arn:aws:iot:{REGION}:{ACCOUNT}:thing/site:AMR-7')
        self.assertEqual(code, 0)
        job_id = out.split('job id:', 1)[1].split()[0]
        self.assertRegex(job_id, r'^logs-site_AMR-7-[0-9]{8}T[0-9]{6}Z$')
        self.assertIn(f'/logs/site_AMR-7/{job_id}.txt?', self.made(job_id)[0]['url'])

    def test_temporary_credentials_are_named(self):
        os.environ['AWS_SESSION_TOKEN'] = 'session-token'
        code, _, err = self.logs()
        self.assertEqual(code, 0)
        self.assertIn('temporary credentials', err)
        self.assertIn('X-Amz-Security-Token=session-token', self.made('logs-test')[0]['url'])

    def test_refusals(self):
        for pattern, argv in [
            (r'--lines or --since/--until, not both', ['--lines', '10', '--since', '2026-12-06T08:00:00Z']),
            (r'--until must be after --since', ['--since', '2026-12-06T08:00:00Z', '--until', '2026-12-06T08:00:00Z']),
            (r'is not a UTC time', ['--since', '2026-12-06 08:00']),
            (r'is not a UTC time', ['--since', '2026-12-06T08:00:00+09:00']),
            (r"--since: '2026-13-06T08:00:00Z': ", ['--since', '2026-13-06T08:00:00Z']),
            (r'--expires must be 1 to 604800', ['--expires', '604801']),
            (r'--lines must be 1 to 100000', ['--lines', '0']),
            (r'--lines must be 1 to 100000', ['--lines', '100001']),
            (r'--until needs --since', ['--until', '2026-12-06T08:00:00Z']),
            (r'--max-bytes must be at least 1024', ['--max-bytes', '1023']),
        ]:
            with self.subTest(pattern):
                self.assertRefused(pattern, 'logs', '--bucket', BUCKET, '--targets', THING, '--out', self.out, *argv)
        self.assertRefused(r'exactly one thing', 'logs', '--bucket', BUCKET, '--targets', GROUP)
        self.assertRefused(r'exactly one thing', 'logs', '--bucket', BUCKET, '--targets', THING, THING.replace('001', '002'))


class HealthAndAwsCallsTest(Base):
    TEMPLATE = f'arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/iotgw-health-84a1c9fe2813'

    def test_health_uses_the_template(self):
        code, _, err = self.make('health', '--template-arn', self.TEMPLATE, '--targets', GROUP, '--job-id', 'h1', '--out', self.out)
        self.assertEqual(code, 0, err)
        _, request = self.made('h1')
        self.assertEqual(request, {'jobId': 'h1', 'targets': [GROUP], 'jobTemplateArn': self.TEMPLATE})
        self.assertValidCreateJob(request)
        self.assertRefused(r'is not a job template ARN', 'health', '--template-arn', 'iotgw-health', '--targets', GROUP)

    def test_create_calls_create_job_with_the_request(self):
        iot = self.stub('iot')
        iot.add_response('create_job', {'jobArn': f'arn:aws:iot:{REGION}:{ACCOUNT}:job/h2', 'jobId': 'h2'},
                         {'jobId': 'h2', 'targets': [GROUP], 'jobTemplateArn': self.TEMPLATE})
        with iot:
            code, out, err = self.make('health', '--template-arn', self.TEMPLATE, '--targets', GROUP, '--job-id', 'h2',
                                       '--out', self.out, '--create')
            iot.assert_no_pending_responses()
        self.assertEqual(code, 0, err)
        self.assertIn(f'created arn:aws:iot:{REGION}:{ACCOUNT}:job/h2', out)
        self.assertNotIn('aws iot create-job', out)

    def test_upload_sends_the_package_with_its_sha256_then_creates(self):
        with open(self.deb, 'rb') as f:
            digest = hashlib.sha256(f.read()).digest()
        s3 = self.stub('s3')
        s3.add_response('put_object', {}, {'Bucket': BUCKET, 'Key': 'packages/iotgw_0.2.0_all.deb', 'Body': ANY,
                                           'ChecksumSHA256': base64.b64encode(digest).decode()})
        iot_client = boto3.session.Session(region_name=REGION).client('iot')
        iot = Stubber(iot_client)
        self.stubs['iot'] = (iot_client, iot)
        iot.add_response('create_job', {'jobArn': 'arn:aws:iot:ap-northeast-1:123456789012:job/p', 'jobId': 'p'}, None)
        with s3, iot:
            code, out, err = self.make('package', '--package', self.deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                                       '--targets', GROUP, '--job-id', 'p', '--out', self.out, '--sign-key', self.key,
                                       '--upload', '--create')
            s3.assert_no_pending_responses()
            iot.assert_no_pending_responses()
        self.assertEqual(code, 0, err)
        self.assertIn(f'uploaded {self.deb} to s3://{BUCKET}/packages/iotgw_0.2.0_all.deb', out)
        self.assertNotIn('aws s3 cp', out)

    def test_public_key_is_the_pem_a_site_installs(self):
        public_der = run('openssl', 'pkey', '-pubin', '-in', self.pub, '-outform', 'DER')
        kms = self.stub('kms')
        kms.add_response('get_public_key', {'PublicKey': public_der, 'KeySpec': 'ECC_NIST_P256',
                                            'SigningAlgorithms': ['ECDSA_SHA_256']}, {'KeyId': 'alias/iotgw-update-signing-1'})
        kms.add_response('get_public_key', {'PublicKey': public_der, 'KeySpec': 'RSA_2048',
                                            'SigningAlgorithms': ['RSASSA_PSS_SHA_256']}, {'KeyId': 'rsa'})
        target = os.path.join(self.out, 'site-2027.pem')
        with kms:
            code, out, err = self.make('public-key', '--kms-key-id', 'alias/iotgw-update-signing-1', '--out', target)
            self.assertEqual(code, 0, err)
            self.assertRefused(r'is a RSA_2048 key', 'public-key', '--kms-key-id', 'rsa', '--out', target + '.rsa')
        with open(target, encoding='ascii') as f, open(self.pub, encoding='ascii') as g:
            self.assertEqual(f.read(), g.read())
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o644)
        self.assertIn(hashlib.sha256(public_der).hexdigest(), out, 'the fingerprint to compare across sites')
        self.assertIn('/etc/iotgw/update-keys/', out)

    def test_sign_prints_a_base64_der_signature(self):
        sig = os.path.join(self.out, 'sig.b64')
        code, out, err = self.make('sign', '--package', self.deb, '--sign-key', self.key, '--out', sig)
        self.assertEqual(code, 0, err)
        signature = base64.b64decode(out.strip(), validate=True)
        self.assertTrue(verify(self.deb, signature, self.pub))
        with open(sig, encoding='ascii') as f:
            self.assertEqual(f.read().strip(), out.strip())


class JobConfigFilesTest(Base):
    def test_every_operation_file_is_valid_in_a_create_job_request(self):
        for operation in ('health', 'config', 'package', 'logs'):
            with self.subTest(operation):
                config = self.job_config(operation)
                request = {'jobId': 'x', 'targets': [THING], 'document': '{}', **config}
                if 'presignedUrlConfig' in config:
                    request['presignedUrlConfig'] = {'roleArn': ROLE, **config['presignedUrlConfig']}
                self.assertValidCreateJob(request)

    def test_the_script_runs_as_a_program(self):
        env = dict(os.environ)
        r = subprocess.run([SCRIPT, 'package', '--package', self.deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                            '--targets', GROUP, '--out', self.out, '--job-id', 'cli', '--sign-key', self.key],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.out, 'cli.create-job.json')))
        r = subprocess.run([SCRIPT, 'package', '--package', self.other_deb, '--bucket', BUCKET, '--presign-role-arn', ROLE,
                            '--targets', GROUP, '--out', self.out, '--sign-key', self.key],
                           capture_output=True, text=True, env=env, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn('make_job.py package: ', r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
