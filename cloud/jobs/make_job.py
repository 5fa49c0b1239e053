#!/usr/bin/python3
"""The AWS IoT job requests of the gateway's job handlers, built from the artifact they carry.

    make_job.py package    --package iotgw_0.2.0_arm64.deb --bucket B --presign-role-arn R \\
                           (--sign-key key.pem | --kms-key-id alias/iotgw-update-signing-1 | --signature-file F) \\
                           --targets arn:aws:iot:ap-northeast-1:<account>:thinggroup/amr-canary
    make_job.py config     --toml site.toml (--inline | --bucket B --presign-role-arn R) --targets ARN...
    make_job.py logs       --bucket B --targets arn:aws:iot:...:thing/AMR-001 [--lines N | --since T [--until T]]
    make_job.py health     --template-arn <HealthJobTemplateArn> --targets ARN...
    make_job.py sign       --package F (--sign-key key.pem | --kms-key-id ID)
    make_job.py public-key --kms-key-id ID --out site-2027.pem

A job subcommand writes <out>/<job id>.document.json (the job document, what `iotgw update verify
--document` reads) and <out>/<job id>.create-job.json (the whole CreateJob request, for
`aws iot create-job --cli-input-json file://...`), and prints the commands that remain: upload,
check, create. With --upload and --create it does those itself (python3-boto3), for a machine
without the AWS CLI (Debian 13 has no awscli package).

The documents are exactly those the handlers take (docs/remote-jobs.md, plugins/*/README.md):
- package: {"operation":"package","url":<placeholder>,"version","size","sha256","signature"
  [,"confirm_timeout"]}: size and SHA-256 of the file, its version and name read with dpkg-deb,
  the signature ECDSA P-256 over SHA-256 of the .deb, DER, base64: what `openssl dgst -sha256
  -sign` makes and what KMS's Sign makes for the digest (MessageType DIGEST, ECDSA_SHA_256).
  Every signature is verified with the public key before the document is written.
- config: {"operation":"config","toml":...} or {"operation":"config","url":<placeholder>,"sha256"}.
- logs: {"operation":"logs","url":<presigned PUT>,"lines"|"since"[,"until"][,"max_bytes"]}. AWS
  IoT's placeholders make download URLs only, so the upload URL is presigned here, with the
  caller's AWS credentials, for logs/<thing>/<job id>.txt; one thing per job, one key per job.
- health: the deployment's job template (stack output HealthJobTemplateArn).
The placeholder is the form AWS IoT documents,
${aws:iot:s3-presigned-url-v2:https://s3.<region>.amazonaws.com/<bucket>/<key>}; AWS IoT replaces
it with a download URL signed by the presign role (stack output JobPresignRoleArn) each time it
hands the document to a device. The rollout, abort and timeout settings come from
<operation>.json beside this script, the same files the CDK app's job template reads.

Needs python3 and openssl; python3-boto3 only for KMS, the logs URL, --upload and --create.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

JOBS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REGION = 'ap-northeast-1'
# AWS IoT's limits and the handlers' (docs/aws-iot-core.md section 10, plugins/*/README.md).
MAX_DOCUMENT_BYTES = 32 * 1024
MAX_INLINE_TOML_BYTES = 24576
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
MIN_CONFIRM_SECONDS, MAX_CONFIRM_SECONDS = 30, 3600
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's longest presigned URL
DEFAULT_LOGS_EXPIRY = 6 * 3600
DEFAULT_LOG_LINES = 2000
# The gateway's limits for a logs document (plugins/logs/logs_document.hpp): a document outside
# them would be REJECTED on the AMR, so it is refused here first.
MAX_LOG_LINES = 100_000
MIN_LOG_MAX_BYTES = 1024
# Key prefixes: the presign role reads packages/ and configs/ only; the logs go to logs/.
PREFIXES = {'package': 'packages/', 'config': 'configs/', 'logs': 'logs/'}

JOB_ID = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')
THING = re.compile(r'^[a-zA-Z0-9:_-]{1,128}$')
TARGET = re.compile(r'^arn:aws:iot:([a-z0-9-]+):([0-9]{12}):(thing|thinggroup)/([a-zA-Z0-9:_-]{1,128})$')
BUCKET = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
# S3's "safe characters" only: nothing to escape in the placeholder or the presigned path.
KEY = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
DEBIAN_VERSION = re.compile(r'^[0-9][A-Za-z0-9.+~:-]{0,63}$')
UTC_TIME = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$')


class Fail(Exception):
    """A refusal with the sentence to print."""


def aws_client(service, args, **kwargs):
    """A boto3 client with the caller's credentials (profile, environment, SSO, ...)."""
    try:
        import boto3  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise Fail(f'{service}: python3-boto3 is needed for this (apt-get install python3-boto3)') from e
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    return session.client(service, **kwargs)


# Replaced by the tests with stubbed clients.
CLIENT_FACTORY = aws_client


def openssl(*argv, data=None):
    """Runs openssl; returns its stdout, raises Fail with its stderr."""
    if shutil.which('openssl') is None:
        raise Fail('openssl is needed (apt-get install openssl)')
    r = subprocess.run(['openssl', *argv], input=data, capture_output=True, check=False)
    if r.returncode != 0:
        raise Fail(f'openssl {argv[0]} failed: {r.stderr.decode(errors="replace").strip()}')
    return r.stdout


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.digest()


def require_p256(pem_path, public):
    """Refuses a key that is not ECDSA P-256, the only kind the AMRs trust."""
    text = openssl('pkey', *(['-pubin'] if public else []), '-in', pem_path, '-noout', '-text').decode()
    if 'prime256v1' not in text and 'P-256' not in text:
        raise Fail(f'{pem_path} is not an ECDSA P-256 key: the AMRs trust P-256 keys only')


def public_pem_of(private_pem):
    return openssl('pkey', '-in', private_pem, '-pubout').decode()


def public_der_fingerprint(pem_text):
    der = openssl('pkey', '-pubin', '-inform', 'PEM', '-outform', 'DER', data=pem_text.encode())
    return hashlib.sha256(der).hexdigest()


def verify_signature(package, signature_der, public_pem_text):
    """openssl dgst -sha256 -verify: the check `iotgw update verify` makes (EVP_DigestVerify)."""
    with tempfile.TemporaryDirectory() as d:
        sig, pub = os.path.join(d, 'sig.der'), os.path.join(d, 'key.pem')
        with open(sig, 'wb') as f:
            f.write(signature_der)
        with open(pub, 'w', encoding='ascii') as f:
            f.write(public_pem_text)
        r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', pub, '-signature', sig, package],
                           capture_output=True, check=False)
        return r.returncode == 0


def sign_with_file(package, key_pem):
    require_p256(key_pem, public=False)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 'sig.der')
        openssl('dgst', '-sha256', '-sign', key_pem, '-out', out, package)
        with open(out, 'rb') as f:
            return f.read(), public_pem_of(key_pem)


def kms_public_pem(kms, key_id):
    """The KMS key's public key (GetPublicKey: DER SubjectPublicKeyInfo) as PEM."""
    r = kms.get_public_key(KeyId=key_id)
    if r.get('KeySpec') != 'ECC_NIST_P256' or 'ECDSA_SHA_256' not in r.get('SigningAlgorithms', []):
        raise Fail(f'{key_id} is a {r.get("KeySpec")} key: the update signing key is ECC_NIST_P256 with ECDSA_SHA_256')
    return openssl('pkey', '-pubin', '-inform', 'DER', '-outform', 'PEM', data=r['PublicKey']).decode()


def sign_with_kms(kms, package, key_id):
    """KMS signs the 32-byte SHA-256 of the package (a .deb is far above Sign's 4 KB message limit)."""
    r = kms.sign(KeyId=key_id, Message=sha256_file(package), MessageType='DIGEST', SigningAlgorithm='ECDSA_SHA_256')
    return r['Signature'], kms_public_pem(kms, key_id)


def read_signature_file(path):
    """A signature file: DER (openssl dgst -out) or its base64 (base64 -w0, aws kms sign's output)."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:1] == b'\x30':
        return data
    try:
        return base64.b64decode(b''.join(data.split()), validate=True)
    except ValueError as e:
        raise Fail(f'{path} is neither a DER signature nor its base64') from e


def package_identity(package):
    """(name, version) from the .deb's control file, or None without dpkg-deb."""
    if shutil.which('dpkg-deb') is None:
        return None
    r = subprocess.run(['dpkg-deb', '-f', package, 'Package', 'Version'], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise Fail(f'{package} is not a Debian package: {r.stderr.strip()}')
    fields = dict(line.split(': ', 1) for line in r.stdout.splitlines() if ': ' in line)
    return fields.get('Package'), fields.get('Version')


def placeholder(region, bucket, key):
    return f'${{aws:iot:s3-presigned-url-v2:https://s3.{region}.amazonaws.com/{bucket}/{key}}}'


def check_bucket_key(bucket, key, operation):
    if not BUCKET.match(bucket or ''):
        raise Fail(f'--bucket: {bucket!r} is not an S3 bucket name (the stack output JobArtifactsBucketName)')
    prefix = PREFIXES[operation]
    if not KEY.match(key) or any(part in ('.', '..') for part in key.split('/')):
        raise Fail(f'--key: {key!r}: use letters, digits and !_.*\'()- separated by single slashes')
    if not key.startswith(prefix):
        raise Fail(f'--key: {key!r} is not under {prefix}: the presign role reads only the prefixes '
                   f'{", ".join(sorted(set(PREFIXES.values()) - {"logs/"}))} of the bucket')


def utc_stamp(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime('%Y%m%dT%H%M%SZ')


def job_id_for(args, *parts):
    if args.job_id:
        if not JOB_ID.match(args.job_id):
            raise Fail(f'--job-id: {args.job_id!r} is not a job id (1-64 of a-z A-Z 0-9 _ -)')
        return args.job_id
    stamp = utc_stamp()
    head = '-'.join(re.sub(r'[^a-zA-Z0-9_-]', '_', p) for p in parts)
    return f'{head[:64 - len(stamp) - 1]}-{stamp}'


def check_targets(targets, region):
    for t in targets:
        m = TARGET.match(t)
        if not m:
            raise Fail(f'--targets: {t!r} is not a thing or thing group ARN (arn:aws:iot:<region>:<account>:thing/<name>)')
        if m.group(1) != region:
            raise Fail(f'--targets: {t} is in {m.group(1)}, the job in {region} (--region)')


def load_job_config(args, operation):
    path = os.path.join(args.jobs_dir, f'{operation}.json')
    try:
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise Fail(f'{path}: {e}') from e
    if not isinstance(config, dict):
        raise Fail(f'{path}: not a JSON object')
    return config


def validate_request(request):
    """Checks the request against the CreateJob input shape of the installed botocore, if any."""
    try:
        import botocore.session  # pylint: disable=import-outside-toplevel
        from botocore.validate import ParamValidator  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    shape = botocore.session.get_session().get_service_model('iot').operation_model('CreateJob').input_shape
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        raise Fail(f'the CreateJob request is not valid: {report.generate_report()}')


def create_job_request(args, operation, job_id, document, presigned):
    """The CreateJob request: the document, the targets, and <operation>.json's settings."""
    text = json.dumps(document, separators=(',', ':'), ensure_ascii=False)
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise Fail(f'the job document is {len(text.encode())} bytes; AWS IoT and the gateway take at most {MAX_DOCUMENT_BYTES}')
    config = load_job_config(args, operation)
    request = {'jobId': job_id, 'targets': args.targets, 'document': text, 'targetSelection': 'SNAPSHOT'}
    if args.description:
        request['description'] = args.description
    for k in ('timeoutConfig', 'jobExecutionsRolloutConfig', 'abortConfig'):
        if k in config:
            request[k] = config[k]
    if presigned:
        if not args.presign_role_arn:
            raise Fail('--presign-role-arn: a document with a placeholder needs the presign role (stack output JobPresignRoleArn)')
        request['presignedUrlConfig'] = {'roleArn': args.presign_role_arn, **config.get('presignedUrlConfig', {})}
    validate_request(request)
    return request


def write_outputs(args, job_id, document, request):
    os.makedirs(args.out, exist_ok=True)
    doc_path = os.path.join(args.out, f'{job_id}.document.json')
    req_path = os.path.join(args.out, f'{job_id}.create-job.json')
    for path, value in ((doc_path, document), (req_path, request)):
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(value, f, indent=2, ensure_ascii=False)
            f.write('\n')
    return doc_path, req_path


def upload(args, path, bucket, key, digest):
    s3 = CLIENT_FACTORY('s3', args)
    with open(path, 'rb') as body:
        # S3 checks the SHA-256 of what arrived against the one sent along.
        s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumSHA256=base64.b64encode(digest).decode())
    print(f'uploaded {path} to s3://{bucket}/{key}')


def finish(args, job_id, document, request, steps):
    """Writes the files, prints what is left to do, and creates the job with --create."""
    doc_path, req_path = write_outputs(args, job_id, document, request)
    print(f'job id:        {job_id}')
    print(f'job document:  {doc_path}')
    print(f'job request:   {req_path}')
    create = f'aws iot create-job --cli-input-json {shlex.quote("file://" + req_path)}'
    if args.create:
        response = CLIENT_FACTORY('iot', args).create_job(**request)
        print(f'created {response["jobArn"]}')
        steps = steps + [f'aws iot describe-job --job-id {job_id}']
    else:
        steps = steps + [create]
    if steps:
        print('next:')
        for s in steps:
            print(f'  {s(doc_path) if callable(s) else s}')


def signature_of(args, package):
    """(DER signature, public key PEM or None) from --sign-key, --kms-key-id or --signature-file."""
    given = [x for x in (args.sign_key, args.kms_key_id, getattr(args, 'signature_file', None)) if x]
    if len(given) != 1:
        raise Fail('give exactly one of --sign-key, --kms-key-id' + (', --signature-file' if hasattr(args, 'signature_file') else ''))
    if args.sign_key:
        signature, public = sign_with_file(package, args.sign_key)
    elif args.kms_key_id:
        signature, public = sign_with_kms(CLIENT_FACTORY('kms', args), package, args.kms_key_id)
    else:
        signature, public = read_signature_file(args.signature_file), None
    if getattr(args, 'verify_key', None):
        require_p256(args.verify_key, public=True)
        with open(args.verify_key, encoding='ascii') as f:
            public = f.read()
    if public is not None and not verify_signature(package, signature, public):
        raise Fail(f'the signature does not verify with the public key: the AMRs would refuse {package}')
    return signature, public


def cmd_package(args):
    package = args.package
    if not os.path.isfile(package):
        raise Fail(f'--package: {package} is not a file')
    size = os.path.getsize(package)
    if size == 0 or size > MAX_PACKAGE_BYTES:
        raise Fail(f'--package: {package} is {size} bytes; a package is 1 byte to {MAX_PACKAGE_BYTES}')
    identity = package_identity(package)
    version = args.version
    if identity is not None:
        name, deb_version = identity
        if name != 'iotgw':
            raise Fail(f'--package: {package} is the package {name!r}; the update helper installs only iotgw')
        if version is not None and version != deb_version:
            raise Fail(f'--version {version} differs from the package\'s own version {deb_version}')
        version = deb_version
    elif version is None:
        raise Fail('--version: no dpkg-deb here to read it from the package; give it')
    if not DEBIAN_VERSION.match(version or ''):
        raise Fail(f'{version!r} is not a Debian package version')
    if args.confirm_timeout is not None and not MIN_CONFIRM_SECONDS <= args.confirm_timeout <= MAX_CONFIRM_SECONDS:
        raise Fail(f'--confirm-timeout must be {MIN_CONFIRM_SECONDS} to {MAX_CONFIRM_SECONDS} seconds')
    key = args.key or PREFIXES['package'] + os.path.basename(package)
    check_bucket_key(args.bucket, key, 'package')
    check_targets(args.targets, args.region)
    digest = sha256_file(package)
    signature, public = signature_of(args, package)
    document = {
        'operation': 'package', 'url': placeholder(args.region, args.bucket, key), 'version': version, 'size': size,
        'sha256': digest.hex(), 'signature': base64.b64encode(signature).decode(),
    }
    if args.confirm_timeout is not None:
        document['confirm_timeout'] = args.confirm_timeout
    job_id = job_id_for(args, 'package', version)
    request = create_job_request(args, 'package', job_id, document, presigned=True)
    steps = []
    if public is None:
        print(f'warning: the signature in {args.signature_file} was not checked here (no --verify-key)', file=sys.stderr)
    else:
        print(f'signature verified; public key SHA-256 {public_der_fingerprint(public)}')
    if args.upload:
        upload(args, package, args.bucket, key, digest)
    else:
        steps.append(f'aws s3 cp {shlex.quote(package)} {shlex.quote(f"s3://{args.bucket}/{key}")}')
    steps.append(lambda doc: f'iotgw update verify --package {shlex.quote(package)} --document {shlex.quote(doc)} '
                             '--keys <the directory of the site\'s update keys>')
    finish(args, job_id, document, request, steps)


def cmd_config(args):
    try:
        with open(args.toml, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise Fail(f'--toml: {e}') from e
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise Fail(f'--toml: {args.toml} is not UTF-8 text') from e
    digest = hashlib.sha256(data).digest()
    check_targets(args.targets, args.region)
    job_id = job_id_for(args, 'config', digest.hex()[:12])
    steps = [lambda doc, path=args.toml: f'iotgw check --config {shlex.quote(path)}']
    if args.inline:
        if args.bucket or args.key:
            raise Fail('--inline carries the TOML in the document: no --bucket or --key')
        if len(data) > MAX_INLINE_TOML_BYTES:
            raise Fail(f'--toml: {len(data)} bytes; the config handler takes at most {MAX_INLINE_TOML_BYTES} inline: '
                       'put it in the bucket instead (--bucket)')
        document = {'operation': 'config', 'toml': text}
        request = create_job_request(args, 'config', job_id, document, presigned=False)
    else:
        if not args.bucket:
            raise Fail('--bucket (with the file uploaded under configs/) or --inline')
        key = args.key or PREFIXES['config'] + os.path.basename(args.toml)
        check_bucket_key(args.bucket, key, 'config')
        document = {'operation': 'config', 'url': placeholder(args.region, args.bucket, key), 'sha256': digest.hex()}
        request = create_job_request(args, 'config', job_id, document, presigned=True)
        if args.upload:
            upload(args, args.toml, args.bucket, key, digest)
        else:
            steps.append(f'aws s3 cp {shlex.quote(args.toml)} {shlex.quote(f"s3://{args.bucket}/{key}")}')
    finish(args, job_id, document, request, steps)


def parse_utc(value, option):
    if not UTC_TIME.match(value):
        raise Fail(f'{option}: {value!r} is not a UTC time like 2026-12-06T08:00:00Z')
    try:
        return datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%SZ')
    except ValueError as e:
        raise Fail(f'{option}: {value!r}: {e}') from e


def presign_put(args, bucket, key, expires):
    """A presigned PUT URL (SigV4, query string) for s3://bucket/key on the regional endpoint."""
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    s3 = CLIENT_FACTORY('s3', args, endpoint_url=f'https://s3.{args.region}.amazonaws.com',
                        config=Config(signature_version='s3v4', s3={'addressing_style': 'virtual'}))
    return s3.generate_presigned_url('put_object', Params={'Bucket': bucket, 'Key': key}, ExpiresIn=expires,
                                     HttpMethod='PUT')


def cmd_logs(args):
    if len(args.targets) != 1 or not re.match(r'^arn:aws:iot:[^:]+:[0-9]{12}:thing/', args.targets[0]):
        raise Fail('--targets: a logs job is for exactly one thing (its URL writes one object)')
    check_targets(args.targets, args.region)
    thing = args.targets[0].split(':thing/', 1)[1]
    if not THING.match(thing):
        raise Fail(f'{thing!r} is not a thing name')
    if not 1 <= args.expires <= MAX_PRESIGN_SECONDS:
        raise Fail(f'--expires must be 1 to {MAX_PRESIGN_SECONDS} seconds (SigV4\'s limit)')
    document = {'operation': 'logs'}
    if args.since or args.until:
        if args.lines is not None:
            raise Fail('--lines or --since/--until, not both')
        if not args.since:
            raise Fail('--until needs --since (the gateway refuses a range without its start)')
        since = parse_utc(args.since, '--since')
        until = parse_utc(args.until, '--until') if args.until else None
        if until and until <= since:
            raise Fail('--until must be after --since')
    else:
        lines = DEFAULT_LOG_LINES if args.lines is None else args.lines
        if not 1 <= lines <= MAX_LOG_LINES:
            raise Fail(f'--lines must be 1 to {MAX_LOG_LINES} (what the gateway takes)')
        document['lines'] = lines
    job_id = job_id_for(args, 'logs', thing)
    key = f'{PREFIXES["logs"]}{re.sub(r"[^a-zA-Z0-9_-]", "_", thing)}/{job_id}.txt'
    check_bucket_key(args.bucket, key, 'logs')
    url = presign_put(args, args.bucket, key, args.expires)
    document['url'] = url
    if args.since:
        document['since'] = args.since
    if args.until:
        document['until'] = args.until
    if args.max_bytes is not None:
        if args.max_bytes < MIN_LOG_MAX_BYTES:
            raise Fail(f'--max-bytes must be at least {MIN_LOG_MAX_BYTES} (what the gateway takes)')
        document['max_bytes'] = args.max_bytes
    request = create_job_request(args, 'logs', job_id, document, presigned=False)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if 'X-Amz-Security-Token' in query:
        print('warning: signed with temporary credentials: the URL stops working when they expire, '
              f'whatever --expires ({args.expires} s) says', file=sys.stderr)
    print(f'upload URL for s3://{args.bucket}/{key}, valid {args.expires} s')
    finish(args, job_id, document, request,
           [f'aws s3 cp {shlex.quote(f"s3://{args.bucket}/{key}")} -   # once the job has SUCCEEDED'])


def cmd_health(args):
    if not re.match(r'^arn:aws:iot:[a-z0-9-]+:[0-9]{12}:jobtemplate/[a-zA-Z0-9_-]{1,64}$', args.template_arn):
        raise Fail(f'--template-arn: {args.template_arn!r} is not a job template ARN (stack output HealthJobTemplateArn)')
    check_targets(args.targets, args.region)
    job_id = job_id_for(args, 'health')
    request = {'jobId': job_id, 'targets': args.targets, 'jobTemplateArn': args.template_arn}
    if args.description:
        request['description'] = args.description
    validate_request(request)
    finish(args, job_id, {'operation': 'health'}, request, [])


def cmd_sign(args):
    if not os.path.isfile(args.package):
        raise Fail(f'--package: {args.package} is not a file')
    signature, public = signature_of(args, args.package)
    text = base64.b64encode(signature).decode()
    if args.out:
        with open(args.out, 'w', encoding='ascii') as f:
            f.write(text + '\n')
    print(text)
    print(f'verified with the public key SHA-256 {public_der_fingerprint(public)}', file=sys.stderr)


def cmd_public_key(args):
    pem = kms_public_pem(CLIENT_FACTORY('kms', args), args.kms_key_id)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, 'w', encoding='ascii') as f:
        f.write(pem)
    os.chmod(args.out, 0o644)
    print(f'{args.out}: the public key of {args.kms_key_id}, SHA-256 {public_der_fingerprint(pem)}')
    print(f'install on an AMR: install -m 0644 -o root -g root {shlex.quote(args.out)} /etc/iotgw/update-keys/')


def parser():
    p = argparse.ArgumentParser(prog='make_job.py', description=__doc__.split('\n\n', 1)[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--region', default=DEFAULT_REGION, help=f'default {DEFAULT_REGION}')
    common.add_argument('--profile', help='AWS profile for the calls that need credentials')
    job = argparse.ArgumentParser(add_help=False, parents=[common])
    job.add_argument('--targets', nargs='+', required=True, metavar='ARN', help='thing or thing group ARNs')
    job.add_argument('--job-id', help='default: <operation>-<what>-<UTC time>')
    job.add_argument('--description')
    job.add_argument('--out', default='job-requests', help='where the document and the request are written')
    job.add_argument('--jobs-dir', default=JOBS_DIR, help='where <operation>.json are (default: beside this script)')
    job.add_argument('--create', action='store_true', help='create the job (boto3) instead of printing the command')
    signing = argparse.ArgumentParser(add_help=False)
    signing.add_argument('--sign-key', metavar='PEM', help='sign with this local P-256 private key (openssl)')
    signing.add_argument('--kms-key-id', metavar='ID', help='sign with this KMS key (id, ARN or alias/...)')
    signing.add_argument('--verify-key', metavar='PEM', help='check the signature with this public key')
    sub = p.add_subparsers(dest='command', required=True)

    s = sub.add_parser('package', parents=[job, signing], help='a signed gateway package')
    s.add_argument('--package', required=True, metavar='DEB')
    s.add_argument('--version', help='default: the package\'s own (dpkg-deb)')
    s.add_argument('--bucket', required=True, help='stack output JobArtifactsBucketName')
    s.add_argument('--key', help='default: packages/<file name>')
    s.add_argument('--presign-role-arn', required=True, help='stack output JobPresignRoleArn')
    s.add_argument('--signature-file', help='a signature made elsewhere (DER or base64)')
    s.add_argument('--confirm-timeout', type=int, help=f'seconds, {MIN_CONFIRM_SECONDS}-{MAX_CONFIRM_SECONDS} (gateway default 600)')
    s.add_argument('--upload', action='store_true', help='upload the package to the bucket (boto3)')
    s.set_defaults(run=cmd_package)

    s = sub.add_parser('config', parents=[job], help='a whole gateway configuration')
    s.add_argument('--toml', required=True)
    s.add_argument('--inline', action='store_true', help=f'carry the TOML in the document (at most {MAX_INLINE_TOML_BYTES} bytes)')
    s.add_argument('--bucket', help='stack output JobArtifactsBucketName')
    s.add_argument('--key', help='default: configs/<file name>')
    s.add_argument('--presign-role-arn', help='stack output JobPresignRoleArn')
    s.add_argument('--upload', action='store_true', help='upload the file to the bucket (boto3)')
    s.set_defaults(run=cmd_config)

    s = sub.add_parser('logs', parents=[job], help='upload an AMR\'s journal')
    s.add_argument('--bucket', required=True, help='stack output JobArtifactsBucketName')
    s.add_argument('--lines', type=int, help=f'the last N lines (default {DEFAULT_LOG_LINES})')
    s.add_argument('--since', help='UTC, e.g. 2026-12-06T08:00:00Z')
    s.add_argument('--until', help='UTC, e.g. 2026-12-06T09:00:00Z')
    s.add_argument('--max-bytes', type=int)
    s.add_argument('--expires', type=int, default=DEFAULT_LOGS_EXPIRY, help=f'seconds the upload URL is valid (default {DEFAULT_LOGS_EXPIRY})')
    s.set_defaults(run=cmd_logs, presign_role_arn=None)

    s = sub.add_parser('health', parents=[job], help='a health snapshot, from the deployment\'s template')
    s.add_argument('--template-arn', required=True, help='stack output HealthJobTemplateArn')
    s.set_defaults(run=cmd_health)

    s = sub.add_parser('sign', parents=[common, signing], help='print the base64 signature of a package')
    s.add_argument('--package', required=True, metavar='DEB')
    s.add_argument('--out', help='also write the base64 signature to this file')
    s.set_defaults(run=cmd_sign)

    s = sub.add_parser('public-key', parents=[common], help='write the KMS signing key\'s public key as PEM')
    s.add_argument('--kms-key-id', required=True, metavar='ID')
    s.add_argument('--out', required=True, metavar='PEM')
    s.set_defaults(run=cmd_public_key)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Fail as e:
        print(f'make_job.py {args.command}: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
