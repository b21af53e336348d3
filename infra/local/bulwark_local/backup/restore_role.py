"""The role a restore job runs as: StartRestoreJob's `IamRoleArn`.

AWS Backup assumes the role passed to it and makes the restored resource with the role's
permissions ("IAM service roles": "The role that you pass to AWS Backup must have an IAM
policy with the permissions that enable AWS Backup to perform actions associated with backup
operations, such as creating, restoring, or expiring backups. ... The role must also have AWS
Backup listed as a trusted entity, which enables AWS Backup to assume the role.",
https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html).

1. `refusal()`: a role that does not exist, or whose trust policy does not let
   `backup.amazonaws.com` assume it, refuses StartRestoreJob with InvalidParameterValueException
   `IAM Role <arn> cannot be assumed by AWS Backup` (AWS Backup's wording of the same refusal
   of CreateBackupSelection, as SDK users quote it; AWS does not document StartRestoreJob's).
2. `denial()`: the main actions the restore of each kind needs, evaluated against the role's
   identity policies (iam.role_policies, policy_eval.evaluate, as a request signed by the role
   would be), on the resource the restore makes, named from the restore metadata. The actions
   are those of AWS's managed restore policies (AWSBackupServiceRolePolicyForRestores,
   AWSBackupServiceRolePolicyForS3Restore) and DynamoDB's "Using IAM with DynamoDB backup and
   restore"; FIDELITY.md, "AWS Backup: the restore role", lists them. A denied one fails the
   job before anything is made, its StatusMessage the service's access-denied message for the
   role's session `AWSBackup-<role name>` (as AWS Backup's sessions are named).

Not evaluated: resource-based and key policies, SCPs, permission boundaries, the resource's
own tags (`aws:ResourceTag`), and a restore without `IamRoleArn` (nothing is checked).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from moto.iam.models import iam_backends
from moto.kms.models import kms_backends

from bulwark_local import concurrency, iam, policy_eval, trust
from bulwark_local.iam_actions import Need

from . import kinds
from .restore_metadata import meta

BACKUP_SERVICE = "backup.amazonaws.com"
# How many of an S3 point's objects StartRestoreJob checks the role may write (in key order).
OBJECTS_CHECKED = 1000
DYNAMODB_TABLE_ACCESS = ("PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem")
# How each service words an access denial (its protocol's code, as iam.py answers them).
DENIED_CODE = {"dynamodb": "AccessDeniedException", "rds": "AccessDenied", "s3": "AccessDenied",
               "elasticfilesystem": "AccessDeniedException", "kms": "AccessDeniedException"}
EC2_DENIED = ("You are not authorized to perform this operation. Please consult the permissions associated "
              "with your AWS Backup role(s), and refer to the AWS Backup documentation for more details. "
              "Encoded authorization failure message: ")


# ---- 1. may AWS Backup assume the role? ------------------------------------------------------

def _role(role_arn: str) -> Any | None:
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    try:
        return iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
    except Exception:
        return None


def trusts_backup(role: Any, account: str) -> bool:
    """The trust policy allows backup.amazonaws.com sts:AssumeRole and no Deny stops it. AWS
    Backup's calls carry aws:SourceAccount (the confused-deputy keys of "Cross-service
    confused deputy prevention"), so a trust policy that pins it to the account still holds."""
    return trust.allows(role.assume_role_policy_document, trust.names_service(BACKUP_SERVICE), {"aws:SourceAccount": account})


def refusal(role_arn: str | None, account: str, region: str) -> str | None:
    """Why StartRestoreJob is refused for its role, or None."""
    if role_arn is None:
        return None
    with concurrency.backend("iam", account, region):
        role = _role(role_arn)
        if role is None or not trusts_backup(role, account):
            return f"IAM Role {role_arn} cannot be assumed by AWS Backup"
    return None


# ---- 2. may the role make what the restore makes? ---------------------------------------------

def _key(account: str, region: str, key_id: str | None) -> Any | None:
    """The customer managed key a restore encrypts with; None for none, an unknown key (the
    restore refuses it itself) or an AWS managed key, whose key policy lets the account use
    it through its service whatever the role's policies say."""
    if not key_id:
        return None
    try:
        key = kms_backends[account][region].describe_key(key_id)
    except Exception:
        return None
    return key if getattr(key, "key_manager", "CUSTOMER") == "CUSTOMER" else None


def _key_needs(account: str, region: str, key_id: str | None, service: str, grants: bool = True) -> list[Need]:
    """The managed restore policy's KMS statements: Decrypt, GenerateDataKey and DescribeKey
    through the service (kms:ViaService), and CreateGrant for an AWS resource."""
    key = _key(account, region, key_id)
    if key is None:
        return []
    via = {"kms:ViaService": f"{service}.{region}.amazonaws.com", "kms:ResourceAliases": list(getattr(key, "aliases", []) or [])}
    needs = [Need(f"kms:{a}", key.arn, dict(via)) for a in ("DescribeKey", "Decrypt", "GenerateDataKey")]
    if grants:
        needs.append(Need("kms:CreateGrant", key.arn, {**via, "kms:GrantIsForAWSResource": "true"}))
    return needs


def _dynamodb(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    target = meta(metadata, "targetTableName")
    if not target:
        return []  # the restore fails on it itself
    table = f"arn:aws:dynamodb:{region}:{account}:table/{target}"
    if backing.get("native"):  # a DynamoDB backup: RestoreTableFromBackup on the backup
        needs = [Need("dynamodb:RestoreTableFromBackup", backing["arn"])]
    else:  # AWS Backup's own point (advanced features): RestoreTableFromAwsBackup on the table
        needs = [Need("dynamodb:RestoreTableFromAwsBackup", table)]
    needs += [Need(f"dynamodb:{a}", table) for a in DYNAMODB_TABLE_ACCESS]
    if (meta(metadata, "encryptionType") or "").strip().upper() == "KMS":
        needs += _key_needs(account, region, meta(metadata, "kmsMasterKeyArn"), "dynamodb")
    return needs


def _rds(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    identifier = meta(metadata, "DBInstanceIdentifier")
    if not identifier:
        return []
    db = f"arn:aws:rds:{region}:{account}:db:{identifier}"
    if rp.continuous:
        return [Need("rds:RestoreDBInstanceToPointInTime", db)]
    return [Need("rds:RestoreDBInstanceFromDBSnapshot", db), Need("rds:RestoreDBInstanceFromDBSnapshot", backing["arn"])]


def _aurora(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    identifier = meta(metadata, "DBClusterIdentifier")
    if not identifier:
        return []
    cluster = f"arn:aws:rds:{region}:{account}:cluster:{identifier}"
    if rp.continuous:
        needs = [Need("rds:RestoreDBClusterToPointInTime", cluster)]
    else:
        needs = [Need("rds:RestoreDBClusterFromSnapshot", cluster), Need("rds:RestoreDBClusterFromSnapshot", backing["arn"])]
    return needs + _key_needs(account, region, meta(metadata, "KmsKeyId"), "rds")


def _ebs(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    volume = f"arn:aws:ec2:{region}:{account}:volume/*"  # a new volume: its id is not known yet
    needs = [Need("ec2:CreateVolume", volume), Need("ec2:CreateVolume", backing["arn"])]
    return needs + _key_needs(account, region, meta(metadata, "kmsKeyId"), "ec2")


def _efs(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    if not kinds._true(meta(metadata, "newFileSystem", "true")):
        fs_id = meta(metadata, "file-system-id") or ""
        return [Need("elasticfilesystem:Restore", f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{fs_id}")]
    new = f"arn:aws:elasticfilesystem:{region}:{account}:file-system/*"
    needs = [Need("elasticfilesystem:CreateFileSystem", new), Need("elasticfilesystem:Restore", new)]
    return needs + _key_needs(account, region, meta(metadata, "KmsKeyId"), "elasticfilesystem")


def _s3(rp: Any, backing: dict[str, Any], metadata: dict[str, str], account: str, region: str) -> list[Need]:
    name = meta(metadata, "DestinationBucketName")
    if not name:
        return []
    bucket = f"arn:aws:s3:::{name}"
    needs = []
    if kinds._true(meta(metadata, "NewBucket")):
        needs += [Need("s3:CreateBucket", bucket), Need("s3:PutBucketVersioning", bucket)]
    needs += [Need("s3:ListBucket", bucket), Need("s3:GetBucketVersioning", bucket)]
    # The first objects only: a restore's objects are written after StartRestoreJob answers
    # (restore_work.py), and a million evaluations would hold the call for minutes.
    objects = backing.get("objects", [])[:OBJECTS_CHECKED]
    needs += [Need("s3:PutObject", f"{bucket}/{obj['key']}") for obj in objects]
    if (meta(metadata, "EncryptionType") or "").strip().upper() == "SSE-KMS":
        needs += _key_needs(account, region, meta(metadata, "KMSKey"), "s3", grants=False)
    return needs


NEEDS = {"DynamoDB": _dynamodb, "RDS": _rds, "Aurora": _aurora, "EBS": _ebs, "EFS": _efs, "S3": _s3}


def needs_of(rp: Any, backing: dict[str, Any], metadata: dict[str, str]) -> list[Need]:
    """What the restore of `rp` with this metadata needs of its role."""
    return NEEDS[rp.kind.resource_type](rp, backing, metadata, backing["account"], backing["region"])


def _message(session: str, need: Need, why: str) -> str:
    text = f"User: {session} is not authorized to perform: {need.action} on resource: {need.resource} {why}"
    service = need.action.split(":", 1)[0]
    if service == "ec2":
        return EC2_DENIED + text  # AWS encodes the decoded message; the local AWS does not
    return f"{DENIED_CODE.get(service, 'AccessDenied')}: {text}"


def _first_denied(documents: list[Any], needs: Iterable[Need], base: dict[str, Any]) -> tuple[Need, str] | None:
    for need in needs:
        try:
            decision = policy_eval.evaluate(documents, need.action, need.resource, {**base, **need.context})
        except policy_eval.Unsupported as err:
            return need, f"(local AWS: a policy of the role uses {err}, which is not evaluated here)"
        why = iam.denial_reason(need.action, decision, None)
        if why is not None:
            return need, why
    return None


def denial(role_arn: str | None, rp: Any, backing: dict[str, Any], metadata: dict[str, str]) -> str | None:
    """The StatusMessage of a restore its role may not make, or None."""
    if role_arn is None:
        return None
    account, region = backing["account"], backing["region"]
    needs = needs_of(rp, backing, metadata)
    with concurrency.backend("iam", account, region):
        documents = iam.role_policies(role_arn.split(":")[4], role_arn) or []
    role_name = role_arn.rsplit("/", 1)[-1]
    session = f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-role/{role_name}/AWSBackup-{role_name}"
    base = {"aws:PrincipalArn": role_arn, "aws:PrincipalAccount": role_arn.split(":")[4],
            "aws:RequestedRegion": region, "aws:SecureTransport": "true"}
    denied = _first_denied(documents, needs, base)
    return None if denied is None else _message(session, *denied)
