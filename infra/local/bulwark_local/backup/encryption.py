"""KMS keys of the recovery points, copies and restores of EBS volumes, RDS DB instances,
Aurora clusters and EFS file systems.

AWS Backup encrypts EBS, RDS and Aurora backups with the source's own key (they are "not
fully managed": a snapshot keeps the volume's or database's key), and EFS backups with the
vault's key. A copy to another Region or account is encrypted with the destination vault's
key ("Encryption for backups in AWS Backup", section "Encryption for copies of a backup to a
different account or AWS Region"). KMS keys belong to one account and Region, so a restore
can only name a key of the Region it runs in. FIDELITY.md, section "AWS Backup: copies,
encryption and restore metadata", gives the sources.
"""

from __future__ import annotations

import re

from moto.kms.models import kms_backends

from .errors import KindError

# The AWS managed key of each service (its alias), used where AWS uses "the service's key".
SERVICE_KEY_ALIAS = {
    "EBS": "alias/aws/ebs",
    "RDS": "alias/aws/rds",
    "Aurora": "alias/aws/rds",
    "EFS": "alias/aws/elasticfilesystem",
}
# Kinds whose backups keep the source's key rather than the vault's (not fully managed).
SOURCE_KEYED = {"EBS", "RDS", "Aurora"}
# moto's RDS stores this placeholder for a database encrypted without a KmsKeyId; AWS uses aws/rds.
MOTO_RDS_PLACEHOLDER = "default_kms_key_id"

KMS_ARN = re.compile(r"^arn:aws:kms:(?P<region>[^:]+):(?P<account>\d{12}):(?:key|alias)/.+$")


def not_accessible(key_id: str) -> str:
    """AWS's words for a key that cannot be used (AWS Backup developer guide, "Restore testing
    failure troubleshooting"; RDS's KMSKeyNotAccessibleFault says the same)."""
    return f"The specified KMS key [{key_id}] does not exist, is not enabled or you do not have permissions to access it."


def key_arn(account: str, region: str, key_id: str) -> str:
    """The ARN of the key `key_id` names in this account and Region: a key ID, key ARN,
    alias name (`alias/<name>`) or alias ARN, as EBS, RDS and EFS accept them. A key of
    another Region, or none at all, raises KindError."""
    owner = account
    match = KMS_ARN.match(key_id)
    if match:
        if match["region"] != region:
            raise KindError(not_accessible(key_id))
        owner = match["account"]
    try:
        return kms_backends[owner][region].describe_key(key_id).arn
    except (KeyError, IndexError, AttributeError, TypeError):
        raise KindError(not_accessible(key_id)) from None


def is_aws_managed(account: str, region: str, arn: str | None) -> bool:
    """An AWS managed key is one reached through an `alias/aws/...` alias."""
    if not arn:
        return False
    try:
        key = kms_backends[account][region].describe_key(arn)
    except (KeyError, IndexError, AttributeError, TypeError):
        return False
    return any(alias.startswith("alias/aws/") for alias in key.aliases)


def service_key(resource_type: str, account: str, region: str) -> str:
    """The service's AWS managed key in this account and Region (moto makes it on first use)."""
    return key_arn(account, region, SERVICE_KEY_ALIAS[resource_type])


def snapshot_key(resource_type: str, account: str, region: str, key_id: str | None, encrypted: bool) -> str | None:
    """The key ARN a snapshot of this kind is encrypted with, or None when it is not: a key
    given by ID or alias is reported by its ARN, moto's RDS placeholder as aws/rds."""
    if not encrypted:
        return None
    if not key_id or key_id == MOTO_RDS_PLACEHOLDER:
        return service_key(resource_type, account, region)
    try:
        return key_arn(account, region, key_id)
    except KindError:
        return key_id  # a key moto accepted unchecked: reported as given


def copy_key(
    resource_type: str,
    source_key: str | None,
    source: tuple[str, str],
    destination: tuple[str, str],
    vault_key: str | None,
) -> str | None:
    """The key a copy of an EBS, RDS or Aurora snapshot is encrypted with in the destination
    (account, Region).

    Across accounts or Regions: the destination vault's key, even when the source is not
    encrypted, except that copies of unencrypted Aurora clusters stay unencrypted (developer
    guide, "Encryption for copies ..."). A vault without a key here stands for one with
    AWS Backup's own key, which cannot encrypt these types: AWS then uses the service's AWS
    managed key of the destination Region (re:Post, "How are my backups and copies
    encrypted in AWS Backup?"), for an encrypted source. Within one account and Region the
    copy keeps the source's key, as EBS CopySnapshot and RDS CopyDB(Cluster)Snapshot do
    without a new key (AWS Backup's guide speaks of re-encryption only across accounts or
    Regions)."""
    if source == destination:
        return source_key
    if source_key is None and resource_type == "Aurora":
        return None
    if vault_key:
        return vault_key
    if source_key is None:
        return None
    account, region = destination
    return service_key(resource_type, account, region)


def cross_account_refusal(resource_type: str, source_key: str | None, source: tuple[str, str], account: str) -> str | None:
    """Why a copy to another account fails, or None. "Cross-account copy with AWS managed
    keys isn't supported for resources that aren't fully managed by AWS Backup" (developer
    guide, "Encryption for copies ..."); the copy job's message is the service's."""
    if account == source[0] or not is_aws_managed(source[0], source[1], source_key):
        return None
    if resource_type == "EBS":
        return "Given key ID is not accessible"
    return f"The source snapshot KMS key [{source_key}] does not exist, is not enabled or you do not have permissions to access it."


def key_type(account: str, region: str, arn: str | None) -> str | None:
    """EncryptionKeyType: CUSTOMER_MANAGED_KMS_KEY for a customer managed key; left out for an
    AWS managed key (the API documents only customer managed and AWS owned keys)."""
    if not arn:
        return None
    return None if is_aws_managed(account, region, arn) else "CUSTOMER_MANAGED_KMS_KEY"
