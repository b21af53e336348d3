"""Request validation against the services' models: a request AWS would refuse is refused in
the service's protocol, with AWS's code and message, and changes nothing; a valid one goes
through. boto3 validates only a few constraints itself, so the clients here skip that
(parameter_validation=False) and the server has to refuse on its own."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from bulwark_local import awsrequest, validation
from conftest import ROLE, unique
from moto.core.model import ServiceModel
from werkzeug.test import EnvironBuilder


@pytest.fixture(scope="module")
def raw(endpoint: str) -> Any:
    """raw(service, region="us-east-1") -> a boto3 client that sends whatever it is given."""

    def client(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        )

    return client


def refused(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Message", "")


def signed_request(url: str, signing_name: str, method: str = "POST", body: bytes = b"", headers: dict[str, str] | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials("testing", "testing"), signing_name, "us-east-1").add_auth(request)
    return request


def send(endpoint: str, signing_name: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A SigV4-signed HTTP request, sent as is."""
    prepared = signed_request(endpoint + path, signing_name, method, body, headers).prepare()
    request = urllib.request.Request(prepared.url, data=body or None, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def environ(url: str, signing_name: str, method: str = "POST", body: bytes = b"", headers: dict[str, str] | None = None, sign: bool = True) -> dict[str, Any]:
    """The WSGI environ of a request to `url` (signed unless told otherwise)."""
    if sign:
        prepared = signed_request(url, signing_name, method, body, headers).prepare()
        url, headers = prepared.url, dict(prepared.headers)
    scheme_host, _, rest = url.partition("://")[2].partition("/")
    env = EnvironBuilder(method=method, base_url=f"http://{scheme_host}", path="/" + rest, headers=headers or {}, data=body).get_environ()
    env["RAW_URI"] = "/" + rest
    return env


# ---- json (DynamoDB) ---------------------------------------------------------------------

TABLE = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def test_json_a_too_long_table_name_is_refused_and_nothing_is_created(raw: Any) -> None:
    dynamodb = raw("dynamodb")
    before = set(dynamodb.list_tables()["TableNames"])
    # 256 characters: DynamoDB's documented name limit (255; the model allows 1024 for ARNs)
    code, status, message = refused(lambda: dynamodb.create_table(TableName="t" * 256, **TABLE))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        f"1 validation error detected: Value '{'t' * 256}' at 'tableName' failed to satisfy constraint: "
        "Member must have length less than or equal to 255"
    )
    assert set(dynamodb.list_tables()["TableNames"]) == before
    code, _, message = refused(lambda: dynamodb.describe_table(TableName="t" * 1025))
    assert code == "ValidationException"
    assert "at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 1024" in message

    name = unique("valid")
    dynamodb.create_table(TableName=name, **TABLE)
    assert name in dynamodb.list_tables()["TableNames"]


def test_json_missing_members_and_several_violations_are_all_named(raw: Any) -> None:
    dynamodb = raw("dynamodb")
    attributes = [{"AttributeName": "pk", "AttributeType": "X"}]
    code, status, message = refused(lambda: dynamodb.create_table(**dict(TABLE, AttributeDefinitions=attributes)))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "2 validation errors detected: "
        "Value 'X' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [S, N, B]; "
        "Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    )


def test_json_a_body_that_is_not_json_is_a_serialization_error(endpoint: str) -> None:
    headers = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    status, answered, body = send(endpoint, "dynamodb", "POST", "/", b"{not json", headers)
    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"
    assert answered["Content-Type"] == "application/x-amz-json-1.0"


def test_json_an_unknown_operation_is_refused(endpoint: str) -> None:
    headers = {"X-Amz-Target": "DynamoDB_20120810.MakeCoffee", "Content-Type": "application/x-amz-json-1.0"}
    status, answered, body = send(endpoint, "dynamodb", "POST", "/", b"{}", headers)
    assert status == 400
    assert json.loads(body)["__type"] == "UnknownOperationException"
    assert answered["x-amzn-ErrorType"] == "UnknownOperationException"


def test_json_a_tagging_api_filter_key_too_long_is_refused(raw: Any) -> None:
    # signed as "tagging": the resourcegroupstaggingapi model, JSON 1.1
    tagging = raw("resourcegroupstaggingapi")
    code, status, message = refused(lambda: tagging.get_resources(TagFilters=[{"Key": "k" * 129}]))
    assert (code, status) == ("ValidationException", 400)
    assert "at 'tagFilters.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128" in message
    assert "ResourceTagMappingList" in tagging.get_resources(TagFilters=[{"Key": "k" * 128}])


# ---- rest-json (AWS Backup, EFS) -----------------------------------------------------------


def test_rest_json_creator_request_id_longer_than_50_is_refused(raw: Any) -> None:
    backup = raw("backup")
    vault = unique("vault")
    code, status, message = refused(lambda: backup.create_backup_vault(BackupVaultName=vault, CreatorRequestId="r" * 51))
    assert (code, status) == ("ValidationException", 400)
    assert "at 'creatorRequestId' failed to satisfy constraint: Member must have length less than or equal to 50" in message
    assert vault not in {v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]}

    backup.create_backup_vault(BackupVaultName=vault, CreatorRequestId="r" * 50)
    assert backup.describe_backup_vault(BackupVaultName=vault)["CreatorRequestId"] == "r" * 50

    plan = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": unique("plan"), "Rules": [{"RuleName": "daily", "TargetBackupVaultName": vault}]}
    )["BackupPlanId"]
    selection = {"SelectionName": "all", "IamRoleArn": ROLE, "Resources": ["*"]}
    code, status, message = refused(
        lambda: backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection, CreatorRequestId="s" * 51)
    )
    assert (code, status) == ("ValidationException", 400)
    assert "at 'creatorRequestId' failed to satisfy constraint: Member must have length less than or equal to 50" in message
    assert backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"] == []

    # a nested member, and a URI label
    code, _, message = refused(
        lambda: backup.create_backup_selection(BackupPlanId=plan, BackupSelection=dict(selection, SelectionName="a b"))
    )
    assert code == "ValidationException"
    assert "Value 'a b' at 'backupSelection.selectionName' failed to satisfy constraint: Member must satisfy regular expression pattern" in message
    code, _, message = refused(lambda: backup.create_backup_vault(BackupVaultName="v" * 51))
    assert code == "ValidationException" and "at 'backupVaultName'" in message

    made = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection, CreatorRequestId="s" * 50)
    assert backup.get_backup_selection(BackupPlanId=plan, SelectionId=made["SelectionId"])["CreatorRequestId"] == "s" * 50


def test_rest_json_efs_performance_mode_outside_the_enum_is_refused(raw: Any) -> None:
    efs = raw("efs")
    token = unique("token")
    code, status, message = refused(lambda: efs.create_file_system(CreationToken=token, PerformanceMode="fastest"))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value 'fastest' at 'performanceMode' failed to satisfy constraint: "
        "Member must satisfy enum value set: [generalPurpose, maxIO]"
    )
    assert efs.describe_file_systems(CreationToken=token)["FileSystems"] == []
    efs.create_file_system(CreationToken=token, PerformanceMode="generalPurpose")
    assert len(efs.describe_file_systems(CreationToken=token)["FileSystems"]) == 1


# ---- query (STS, RDS) ------------------------------------------------------------------------


def test_query_sts_role_session_name_length_and_pattern(raw: Any) -> None:
    sts = raw("sts")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = raw("iam").create_role(RoleName=unique("validation"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code, status, message = refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s" * 65))
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        f"1 validation error detected: Value '{'s' * 65}' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"
    )
    code, _, message = refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="my session"))
    assert code == "ValidationError"
    assert message.endswith("at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    assert sts.assume_role(RoleArn=role, RoleSessionName="s" * 64)["Credentials"]["AccessKeyId"]


def test_query_rds_enum_is_checked_and_nothing_is_created(raw: Any) -> None:
    rds = raw("rds")
    name = unique("db")
    params = {"DBInstanceIdentifier": name, "DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20}
    code, status, message = refused(lambda: rds.create_db_instance(**params, DatabaseInsightsMode="extreme"))
    assert (code, status) == ("ValidationError", 400)
    assert "at 'databaseInsightsMode' failed to satisfy constraint: Member must satisfy enum value set: [standard, advanced]" in message
    assert name not in {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}


def test_query_an_unknown_action_is_refused(endpoint: str) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, _, body = send(endpoint, "sts", "POST", "/", b"Action=MakeCoffee&Version=2011-06-15", headers)
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body and b"<ErrorResponse>" in body


# ---- ec2 -----------------------------------------------------------------------------------------


def test_ec2_volume_type_outside_the_enum_is_refused_and_nothing_is_created(raw: Any) -> None:
    ec2 = raw("ec2")
    marker = unique("validation")
    tags = [{"ResourceType": "volume", "Tags": [{"Key": "test", "Value": marker}]}]
    code, status, message = refused(
        lambda: ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, VolumeType="gp9", TagSpecifications=tags)
    )
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "Value 'gp9' at 'volumeType' failed to satisfy constraint: Member must satisfy enum value set:" in message
    assert ec2.describe_volumes(Filters=[{"Name": "tag:test", "Values": [marker]}])["Volumes"] == []

    code, status, message = refused(lambda: ec2.delete_volume())
    assert (code, status) == ("MissingParameter", 400)
    assert "Value null at 'volumeId' failed to satisfy constraint: Member must not be null" in message

    ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, VolumeType="gp3", TagSpecifications=tags)
    assert len(ec2.describe_volumes(Filters=[{"Name": "tag:test", "Values": [marker]}])["Volumes"]) == 1


# ---- rest-xml (S3) -------------------------------------------------------------------------------


def test_rest_xml_s3_versioning_status_outside_the_enum_is_refused(raw: Any, endpoint: str) -> None:
    s3 = raw("s3")
    bucket = unique("validation")
    s3.create_bucket(Bucket=bucket)
    code, status, message = refused(lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Sometimes"}))
    assert (code, status) == ("InvalidArgument", 400)
    assert "Value 'Sometimes' at 'versioningConfiguration.status' failed to satisfy constraint: Member must satisfy enum value set: [Enabled, Suspended]" in message
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)

    status, _, body = send(endpoint, "s3", "PUT", f"/{bucket}?versioning", b"<VersioningConfiguration><Status>", {})
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    status, _, body = send(endpoint, "s3", "PUT", f"/{bucket}?versioning", b"", {})
    assert status == 400 and b"<Code>MissingRequestBodyError</Code>" in body
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_object(Bucket=bucket, Key="a/b c.txt", Body=b"x" * 1000, ChecksumAlgorithm="CRC32")
    assert s3.get_object(Bucket=bucket, Key="a/b c.txt")["Body"].read() == b"x" * 1000


def test_rest_xml_a_checksum_algorithm_header_outside_the_enum_is_refused(raw: Any) -> None:
    s3 = raw("s3")
    bucket = unique("checksum")
    s3.create_bucket(Bucket=bucket)
    headers = {"x-amz-sdk-checksum-algorithm": "ROT13"}

    def add_header(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            del request.headers[name]
            request.headers[name] = value

    s3.meta.events.register("before-sign.s3.PutBucketVersioning", add_header)
    code, status, message = refused(lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))
    assert (code, status) == ("InvalidArgument", 400)
    assert "Value 'ROT13' at 'checksumAlgorithm'" in message
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


# ---- parsing -------------------------------------------------------------------------------------


def test_signing_names_map_to_the_models_services() -> None:
    assert awsrequest.services_for("tagging") == ("resourcegroupstaggingapi",)
    assert awsrequest.services_for("elasticfilesystem") == ("efs",)
    assert awsrequest.services_for("states") == ("stepfunctions",)
    assert awsrequest.services_for("monitoring") == ("cloudwatch",)
    assert awsrequest.services_for("rds")[0] == "rds"  # shared with docdb and neptune


def test_parse_reads_the_request_leaves_the_body_readable_and_caches() -> None:
    body = json.dumps({"TagFilters": [{"Key": "env", "Values": ["prod"]}]}).encode()
    headers = {"X-Amz-Target": "ResourceGroupsTaggingAPI_20170126.GetResources", "Content-Type": "application/x-amz-json-1.1"}
    env = environ("http://127.0.0.1:1/", "tagging", "POST", body, headers)
    parsed = awsrequest.parse(env)
    assert parsed is not None
    assert (parsed.service, parsed.signing_name, parsed.region, parsed.protocol) == ("resourcegroupstaggingapi", "tagging", "us-east-1", "json")
    assert parsed.operation.name == "GetResources"
    assert parsed.params == {"TagFilters": [{"Key": "env", "Values": ["prod"]}]}
    assert (parsed.access_key, parsed.account) == ("testing", "123456789012")
    assert env["wsgi.input"].read() == body and env["CONTENT_LENGTH"] == str(len(body))
    assert awsrequest.parse(env) is parsed


def test_parse_ignores_what_is_not_a_signed_aws_request() -> None:
    assert awsrequest.parse(environ("http://127.0.0.1:1/moto-api/reset", "s3", "POST")) is None
    assert awsrequest.parse(environ("http://127.0.0.1:1/", "s3", "GET", sign=False)) is None


def test_parse_s3_virtual_hosted_and_presigned_requests() -> None:
    env = environ("http://bkt.s3.us-east-1.amazonaws.com/?versioning", "s3", "GET")
    parsed = awsrequest.parse(env)
    assert parsed is not None and parsed.operation.name == "GetBucketVersioning"
    assert parsed.params["Bucket"] == "bkt"
    assert validation.validate(parsed.operation, parsed.params) == []

    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "a/b"})
    parsed = awsrequest.parse(environ(url, "s3", "GET", sign=False))
    assert parsed is not None and (parsed.operation.name, parsed.access_key) == ("GetObject", "testing")
    assert (parsed.params["Bucket"], parsed.params["Key"]) == ("bkt", "a/b")


def test_parse_an_unknown_operation_raises() -> None:
    headers = {"X-Amz-Target": "DynamoDB_20120810.MakeCoffee", "Content-Type": "application/x-amz-json-1.0"}
    env = environ("http://127.0.0.1:1/", "dynamodb", "POST", b"{}", headers)
    with pytest.raises(awsrequest.UnknownOperation) as err:
        awsrequest.parse(env)
    assert err.value.service == "dynamodb"
    with pytest.raises(awsrequest.UnknownOperation):  # cached, too
        awsrequest.parse(env)


def test_error_responses_take_each_protocols_shape() -> None:
    status, headers, body = awsrequest.error_response("dynamodb", 400, "ValidationException", "no <good>")
    assert status == "400 Bad Request"
    assert ("Content-Type", "application/x-amz-json-1.0") in headers and ("x-amzn-ErrorType", "ValidationException") in headers
    assert json.loads(body) == {"__type": "ValidationException", "message": "no <good>"}
    assert ("Content-Length", str(len(body))) in headers
    assert ("Content-Type", "application/x-amz-json-1.1") in awsrequest.error_response("resourcegroupstaggingapi", 400, "X", "m")[1]
    assert ("Content-Type", "application/json") in awsrequest.error_response("backup", 400, "X", "m")[1]
    body = awsrequest.error_response("sts", 400, "ValidationError", "a < b & c")[2]
    assert b"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>a &lt; b &amp; c</Message>" in body
    assert awsrequest.error_response("ec2", 400, "InvalidParameterValue", "m")[2].startswith(b"<Response><Errors><Error><Code>InvalidParameterValue</Code>")
    assert awsrequest.error_response("s3", 400, "InvalidArgument", "m")[2].startswith(b"<Error><Code>InvalidArgument</Code><Message>m</Message><RequestId>")


# ---- the middleware ----------------------------------------------------------------------------


def _call(app: Any, env: dict[str, Any]) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(app(env, lambda status, headers: seen.append(status)))
    return seen[0], body


def _moto(env: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"moto saw " + env["wsgi.input"].read()]


def test_the_off_switch_and_internal_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    body = json.dumps({"Limit": 0}).encode()
    status, answer = _call(validation.wrap(_moto), environ("http://127.0.0.1:1/", "dynamodb", "POST", body, headers))
    assert status.startswith("400") and b"Member must have value greater than or equal to 1" in answer

    monkeypatch.setenv("BULWARK_LOCAL_VALIDATE", "0")
    assert validation.wrap(_moto) is _moto
    monkeypatch.delenv("BULWARK_LOCAL_VALIDATE")

    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(validation, "violations", broken)
    status, answer = _call(validation.wrap(_moto), environ("http://127.0.0.1:1/", "dynamodb", "POST", b"{}", headers))
    assert status.startswith("500")
    assert json.loads(answer)["__type"] == "InternalFailure" and "a bug" in json.loads(answer)["message"]


def test_a_valid_request_reaches_the_app_with_its_body() -> None:
    headers = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    status, answer = _call(validation.wrap(_moto), environ("http://127.0.0.1:1/", "dynamodb", "POST", b'{"Limit": 5}', headers))
    assert (status, answer) == ("200 OK", b'moto saw {"Limit": 5}')


# ---- validate() on shapes --------------------------------------------------------------------

MODEL = ServiceModel(
    {
        "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "jsonVersion": "1.0", "targetPrefix": "T"},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "In"}}},
        "shapes": {
            "In": {
                "type": "structure",
                "required": ["Name", "Token"],
                "members": {
                    "Name": {"shape": "Name"},
                    "Token": {"shape": "Token", "idempotencyToken": True},
                    "Inner": {"shape": "Inner"},
                    "Items": {"shape": "Items"},
                    "Labels": {"shape": "Labels"},
                    "Count": {"shape": "Count"},
                    "Ratio": {"shape": "Ratio"},
                    "Data": {"shape": "Data"},
                    "Tag": {"shape": "Tag"},
                    "Odd": {"shape": "Odd"},
                    "Secret": {"shape": "Secret"},
                },
            },
            "Name": {"type": "string", "min": 2, "max": 5, "pattern": "[a-z]+"},
            "Token": {"type": "string", "max": 3},
            "Inner": {"type": "structure", "required": ["Mode"], "members": {"Mode": {"shape": "Mode"}}},
            "Mode": {"type": "string", "enum": ["ON", "OFF"]},
            "Items": {"type": "list", "member": {"shape": "Inner"}, "max": 2},
            "Labels": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Name"}, "min": 1},
            "Key": {"type": "string", "max": 3},
            "Count": {"type": "integer", "min": 1, "max": 10},
            "Ratio": {"type": "double", "max": 0.5},
            "Data": {"type": "blob", "max": 4},
            "Tag": {"type": "string", "pattern": "^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$"},
            "Odd": {"type": "string", "pattern": "[a-z&&[^b]]+(?<unsupported"},
            "Secret": {"type": "string", "max": 2, "sensitive": True},
        },
    },
    "test",
)
OP = MODEL.operation_model("Op")


def at(path: str, constraint: str, value: str = "") -> str:
    shown = f"'{value}'" if value else "null"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def test_validate_accepts_a_valid_input_and_fills_nothing_in() -> None:
    params = {"Name": "abc", "Inner": {"Mode": "ON"}, "Items": [{"Mode": "OFF"}], "Labels": {"k": "xy"}, "Count": 10, "Ratio": 0.5, "Data": b"1234", "Tag": "Env é 1"}
    assert validation.validate(OP, params) == []  # the idempotency token may be absent


def test_validate_required_nested_enum_and_pattern() -> None:
    assert validation.validate(OP, {"Inner": {}}) == [
        at("name", "Member must not be null"),
        at("inner.mode", "Member must not be null"),
    ]
    assert validation.validate(OP, {"Name": "ABCDEF", "Inner": {"Mode": "MAYBE"}, "Tag": "a!"}) == [
        at("name", "Member must have length less than or equal to 5", "ABCDEF"),
        at("name", "Member must satisfy regular expression pattern: [a-z]+", "ABCDEF"),
        at("inner.mode", "Member must satisfy enum value set: [ON, OFF]", "MAYBE"),
        at("tag", "Member must satisfy regular expression pattern: ^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", "a!"),
    ]


def test_validate_lists_maps_ranges_and_blobs() -> None:
    params = {
        "Name": "ab",
        "Items": [{"Mode": "ON"}, {"Mode": "X"}, {"Mode": "OFF"}],
        "Labels": {"long": "x"},
        "Count": 0,
        "Ratio": 0.75,
        "Data": b"12345",
        "Secret": "abc",
    }
    assert validation.validate(OP, params) == [
        at("items", "Member must have length less than or equal to 2", "[{Mode=ON}, {Mode=X}, {Mode=OFF}]"),
        at("items.2.member.mode", "Member must satisfy enum value set: [ON, OFF]", "X"),
        at("labels", "Map keys must satisfy constraint: [Member must have length less than or equal to 3]", "long"),
        at("labels.long", "Member must have length greater than or equal to 2", "x"),
        at("count", "Member must have value greater than or equal to 1", "0"),
        at("ratio", "Member must have value less than or equal to 0.5", "0.75"),
        at("data", "Member must have length less than or equal to 4", "java.nio.HeapByteBuffer[pos=0 lim=5 cap=5]"),
        at("secret", "Member must have length less than or equal to 2", "***"),
    ]
    assert validation.validate(OP, {"Name": "ab", "Labels": {}}) == [at("labels", "Member must have length greater than or equal to 1", "{}")]


def test_a_pattern_python_cannot_compile_is_skipped() -> None:
    assert validation.validate(OP, {"Name": "ab", "Odd": "anything at all"}) == []


def test_the_wrong_type_is_a_serialization_error_not_a_crash() -> None:
    kinds = validation.violations(OP, {"Name": 5, "Items": "x"})
    assert [kind for kind, _ in kinds] == [validation.TYPE, validation.TYPE]


def test_a_body_read_from_a_socket_is_put_back_for_moto() -> None:
    env = environ("http://127.0.0.1:1/", "dynamodb", "POST", b'{"Limit": 5}', {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"})
    env["wsgi.input"] = io.BufferedReader(io.BytesIO(b'{"Limit": 5}'))  # a socket reads only once
    awsrequest.parse(env)
    assert env["wsgi.input"].read() == b'{"Limit": 5}'
