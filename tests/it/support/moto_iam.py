"""moto's server with IAM enforced, for tests/it/iam_policies.rs.

    moto_iam.py serve HOST PORT
        moto's server (`python -m moto.server`) with the corrections below. IAM is enforced
        once `INITIAL_NO_AUTH_ACTION_COUNT` requests have been served (moto's own setting;
        the test sets it to 0 through moto's /moto-api/reset-auth once its users exist).
    moto_iam.py setup ENDPOINT USERS.json
        Creates, with the server's root credentials (before IAM is enforced), one IAM user
        per entry {name: policy document}, each with its inline policy and an access key;
        prints {name: {"arn", "key", "secret"}} as JSON.
    moto_iam.py enforce ENDPOINT
        From now on every request must be signed by an IAM user whose policies allow it
        (sets moto's INITIAL_NO_AUTH_ACTION_COUNT to 0 through /moto-api/reset-auth).
    moto_iam.py attack ENDPOINT BUCKET KEY SECRET
        Sends, with the given credentials, each request that could destroy or weaken what
        Object Lock protects, against the current version of the first locked chunk of the
        bucket; prints {request: answer code or "OK"} and whether that version is still
        there with its lock as it was.
    moto_iam.py policy ENDPOINT BUCKET KEY SECRET
        Prints the bucket's policy (GetBucketPolicy) as JSON, or null.
    moto_iam.py plant-upload ENDPOINT BUCKET KEY SECRET OBJECT-KEY
        Starts a multipart upload of OBJECT-KEY and uploads one part (what a killed run
        leaves); prints {"code": "OK" or the refusal, "upload": its id}.

moto decides by its own policy evaluator (moto.iam.access_control: Allow and Deny
statements, Action and Resource patterns, a Deny winning). It asks a policy for
`s3:OPERATION`, the S3 API's operation name; `serve` makes it ask for the action AWS asks
for instead (the Service Authorization Reference, "Actions defined by Amazon S3"):

- ACTIONS below where the names differ (HeadBucket and ListObjectsV2 are `s3:ListBucket`,
  GetObjectLockConfiguration is `s3:GetBucketObjectLockConfiguration`, the multipart
  requests and CopyObject are `s3:PutObject`, ...);
- a GetObject, HeadObject or DeleteObject of a version (`?versionId=`) is
  `s3:GetObjectVersion` / `s3:DeleteObjectVersion`;
- DeleteObjects asks `s3:DeleteObject` (`s3:DeleteObjectVersion` with a VersionId) for each
  key, on the object (moto: once, on the bucket);
- a request with `x-amz-bypass-governance-retention: true` also needs
  `s3:BypassGovernanceRetention` (moto asks for nothing more);
- and, as S3 does, a PutObjectRetention that shortens a lock is refused (AccessDenied) for
  a COMPLIANCE lock, and for a GOVERNANCE lock without the bypass (moto takes any date).

What this evaluator does NOT check, and no test here claims: Condition blocks of S3
requests (moto hands them no context keys and knows only StringEquals, so
`s3:object-lock-mode` and `s3:object-lock-remaining-retention-days` always pass), bucket
policies (moto evaluates none), and `s3:GetObject` on a CopyObject's source.
"""

import datetime
import json
import sys
import xml.etree.ElementTree as ET

# moto asks a policy for `s3:OPERATION` (the S3 API's operation name); AWS asks for these
# actions instead (the Service Authorization Reference, "Actions defined by Amazon S3").
ACTIONS = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
}
# ... and these when the request names a version (`?versionId=`).
VERSION_ACTIONS = {
    "GetObject": "GetObjectVersion",
    "HeadObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
}
# Requests that `x-amz-bypass-governance-retention: true` makes ask for
# s3:BypassGovernanceRetention as well.
BYPASSING = {"DeleteObject", "DeleteObjects", "PutObjectRetention"}


def _when(text):
    if text is None:
        return None
    if isinstance(text, datetime.datetime):
        value = text
    else:
        value = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _patch():
    from urllib.parse import parse_qs, urlparse

    from moto.iam.access_control import S3IAMRequest
    from moto.s3 import responses
    from moto.s3.exceptions import AccessDeniedByLock

    original_check = S3IAMRequest.check_action_permitted
    original_put_retention = responses.S3Response.put_object_retention

    def header(headers, name):
        for key, value in headers.items():
            if key.lower() == name:
                return value
        return ""

    def bypasses(headers):
        return header(headers, "x-amz-bypass-governance-retention").lower() == "true"

    def deleted_keys(body):
        keys = []
        for obj in ET.fromstring(body).iter():
            if obj.tag.split("}")[-1] != "Object":
                continue
            fields = {child.tag.split("}")[-1]: child.text for child in obj}
            keys.append((fields.get("Key") or "", fields.get("VersionId")))
        return keys

    def check(self, resource):
        operation = self._action.split(":", 1)[1]
        query = parse_qs(urlparse(self._path).query, keep_blank_values=True)
        bypass = operation in BYPASSING and bypasses(self._headers)
        if operation == "DeleteObjects":
            # each key as a DeleteObject (DeleteObjectVersion) of its own, on the object
            for key, version in deleted_keys(self._body):
                target = f"{resource}/{key}"
                self._action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
                original_check(self, target)
                if bypass:
                    self._action = "s3:BypassGovernanceRetention"
                    original_check(self, target)
            return
        if "versionId" in query and operation in VERSION_ACTIONS:
            action = VERSION_ACTIONS[operation]
        else:
            action = ACTIONS.get(operation, operation)
        self._action = f"s3:{action}"
        original_check(self, resource)
        if bypass:
            self._action = "s3:BypassGovernanceRetention"
            original_check(self, resource)

    def put_object_retention(self):
        version_id = self._get_param("versionId")
        key_name = self.parse_key_name()
        key = self.backend.get_object(self.bucket_name, key_name, version_id=version_id)
        _, until = self._mode_until_from_body()
        held, wanted = _when(getattr(key, "lock_until", None)), _when(until)
        if held is not None and wanted is not None and wanted < held:
            mode = getattr(key, "lock_mode", None)
            if mode == "COMPLIANCE" or not bypasses(self.headers):
                raise AccessDeniedByLock()
        return original_put_retention(self)

    S3IAMRequest.check_action_permitted = check
    responses.S3Response.put_object_retention = put_object_retention


def serve(host, port):
    _patch()
    from moto.server import main

    main(["-H", host, "-p", port])


def _client(service, endpoint, key, secret):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def setup(endpoint, users_file):
    with open(users_file) as f:
        users = json.load(f)
    iam = _client("iam", endpoint, "testing", "testing")
    out = {}
    for name, policy in users.items():
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.put_user_policy(
            UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        out[name] = {
            "arn": arn,
            "key": key["AccessKeyId"],
            "secret": key["SecretAccessKey"],
        }
    print(json.dumps(out))


def enforce(endpoint):
    import requests

    answer = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=30)
    answer.raise_for_status()
    print(answer.text)


def _code(call):
    from botocore.exceptions import ClientError

    try:
        answer = call()
    except ClientError as e:
        return e.response.get("Error", {}).get("Code", "unknown")
    errors = (answer or {}).get("Errors") or []
    if errors:
        return errors[0].get("Code", "unknown")
    return "OK"


def attack(endpoint, bucket, key, secret):
    s3 = _client("s3", endpoint, key, secret)
    target = None
    for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        if v["IsLatest"] and not v["Key"].startswith(".s3napback/") and ":" in v["Key"]:
            target = v
            break
    if target is None:
        print(json.dumps({"error": "no chunk to attack"}))
        return
    obj, version = target["Key"], target["VersionId"]

    def lock():
        head = s3.head_object(Bucket=bucket, Key=obj, VersionId=version)
        return head.get("ObjectLockMode"), str(head.get("ObjectLockRetainUntilDate"))

    before = lock()
    sooner = datetime.datetime(2026, 11, 13, tzinfo=datetime.timezone.utc)
    retention = {"Mode": before[0] or "GOVERNANCE", "RetainUntilDate": sooner}
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
    lifecycle = {
        "Rules": [
            {
                "ID": "gone",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        ]
    }
    lock_config = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    replication = {
        "Role": "arn:aws:iam::123456789012:role/elsewhere",
        "Rules": [
            {
                "Status": "Enabled",
                "Priority": 1,
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::elsewhere"},
            }
        ],
    }
    answers = {
        "DeleteObject with VersionId": _code(
            lambda: s3.delete_object(Bucket=bucket, Key=obj, VersionId=version)
        ),
        "DeleteObject with VersionId, bypassing governance": _code(
            lambda: s3.delete_object(
                Bucket=bucket,
                Key=obj,
                VersionId=version,
                BypassGovernanceRetention=True,
            )
        ),
        "DeleteObjects with VersionId": _code(
            lambda: s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": obj, "VersionId": version}]},
            )
        ),
        "PutObjectRetention shorter": _code(
            lambda: s3.put_object_retention(
                Bucket=bucket, Key=obj, VersionId=version, Retention=retention
            )
        ),
        "PutObjectRetention shorter, bypassing governance": _code(
            lambda: s3.put_object_retention(
                Bucket=bucket,
                Key=obj,
                VersionId=version,
                Retention=retention,
                BypassGovernanceRetention=True,
            )
        ),
        "PutBucketVersioning Suspended": _code(
            lambda: s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
            )
        ),
        "PutObjectLockConfiguration": _code(
            lambda: s3.put_object_lock_configuration(
                Bucket=bucket, ObjectLockConfiguration=lock_config
            )
        ),
        "PutBucketLifecycleConfiguration": _code(
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration=lifecycle
            )
        ),
        "PutBucketPolicy": _code(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=policy)),
        "DeleteBucketPolicy": _code(lambda: s3.delete_bucket_policy(Bucket=bucket)),
        "PutBucketReplication": _code(
            lambda: s3.put_bucket_replication(
                Bucket=bucket, ReplicationConfiguration=replication
            )
        ),
    }
    after = lock()
    print(
        json.dumps(
            {
                "target": f"{obj} {version}",
                "answers": answers,
                "lock_before": list(before),
                "lock_after": list(after),
            }
        )
    )


def policy(endpoint, bucket, key, secret):
    s3 = _client("s3", endpoint, key, secret)
    code = _code(lambda: s3.get_bucket_policy(Bucket=bucket))
    if code != "OK":
        print(json.dumps({"code": code}))
        return
    print(json.dumps({"code": "OK", "policy": json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])}))


def plant_upload(endpoint, bucket, key, secret, obj):
    s3 = _client("s3", endpoint, key, secret)
    started = {}

    def start():
        started["id"] = s3.create_multipart_upload(Bucket=bucket, Key=obj)["UploadId"]
        s3.upload_part(
            Bucket=bucket, Key=obj, UploadId=started["id"], PartNumber=1, Body=b"x" * 1024
        )

    print(json.dumps({"code": _code(start), "upload": started.get("id")}))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {
        "serve": serve,
        "setup": setup,
        "enforce": enforce,
        "attack": attack,
        "policy": policy,
        "plant-upload": plant_upload,
    }[command](*args)
