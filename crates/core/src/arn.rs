//! ARNs of the six kinds, parsed into a typed reference. Splitting the ARN into its parts is
//! the `aws-arn` crate (as `arn_parser`)'s job; knowing which resource each service's resource part names is ours.

use std::fmt;
use std::str::FromStr;

use arn_parser::ResourceName;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::kind::Kind;

/// A twelve-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::InvalidAccountId(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name such as `eu-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    /// "us-east-1, eu-west-1" -> regions (blanks ignored); a malformed name is refused with
    /// its name. How the CLI's `--regions` and the functions' BULWARK_REGIONS are read.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, CoreError> {
        list.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let parts: Vec<&str> = s.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if well_formed {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::InvalidRegion(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition the region belongs to, the second field of its ARNs.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.0)
    }

    /// The DNS suffix of its service endpoints (`amazonaws.com`; China's `amazonaws.com.cn`).
    pub fn dns_suffix(&self) -> &'static str {
        match self.partition() {
            "aws-cn" => "amazonaws.com.cn",
            "aws-iso" => "c2s.ic.gov",
            "aws-iso-b" => "sc2s.sgov.gov",
            _ => "amazonaws.com",
        }
    }
}

/// The partition of a region name: `aws-cn` for China, `aws-us-gov` for GovCloud, the ISO
/// partitions for theirs, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

impl TryFrom<String> for Region {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A data store named by its ARN. S3 ARNs carry neither account nor region; every other
/// kind's ARN carries both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceArn {
    pub kind: Kind,
    pub partition: String,
    pub region: Option<Region>,
    pub account: Option<AccountId>,
    /// The bucket, instance, cluster or table name, or the file system or volume id.
    pub id: String,
}

impl ResourceArn {
    pub fn parse(arn: &str) -> Result<Self, CoreError> {
        let invalid = |reason: &str| CoreError::InvalidArn {
            arn: arn.to_string(),
            reason: reason.to_string(),
        };
        let name = ResourceName::from_str(arn).map_err(|e| invalid(&e.to_string()))?;
        let partition = name
            .partition
            .as_ref()
            .map(|p| p.to_string())
            .ok_or_else(|| invalid("missing partition"))?;
        let service = name.service.to_string();
        let resource = name.resource.to_string();
        let (kind, id) = match (service.as_str(), resource.split_once([':', '/'])) {
            ("s3", None) => (Kind::S3, resource.as_str()),
            ("rds", Some(("db", id))) => (Kind::Rds, id),
            ("rds", Some(("cluster", id))) => (Kind::Aurora, id),
            ("dynamodb", Some(("table", id))) => (Kind::Dynamodb, id),
            ("elasticfilesystem", Some(("file-system", id))) => (Kind::Efs, id),
            ("ec2", Some(("volume", id))) => (Kind::Ebs, id),
            _ => {
                return Err(invalid(
                    "not an S3 bucket, RDS instance, Aurora cluster, DynamoDB table, EFS file system or EBS volume",
                ))
            }
        };
        if id.is_empty() || id.contains(['/', ':']) {
            return Err(invalid("the resource name is empty or has a path"));
        }
        let region = name
            .region
            .as_ref()
            .map(|r| Region::parse(r))
            .transpose()
            .map_err(|e| invalid(&e.to_string()))?;
        let account = name
            .account_id
            .as_ref()
            .map(|a| AccountId::parse(a))
            .transpose()
            .map_err(|e| invalid(&e.to_string()))?;
        match (kind, &region, &account) {
            (Kind::S3, None, None) => {}
            (Kind::S3, _, _) => return Err(invalid("an S3 bucket ARN has no region or account")),
            (_, Some(_), Some(_)) => {}
            _ => return Err(invalid("missing region or account")),
        }
        Ok(Self {
            kind,
            partition,
            region,
            account,
            id: id.to_string(),
        })
    }

    /// The ARN of a store, built from its parts (the inverse of `parse`).
    pub fn new(
        kind: Kind,
        partition: &str,
        region: &Region,
        account: &AccountId,
        id: &str,
    ) -> Self {
        let scoped = kind != Kind::S3;
        Self {
            kind,
            partition: partition.to_string(),
            region: scoped.then(|| region.clone()),
            account: scoped.then(|| account.clone()),
            id: id.to_string(),
        }
    }
}

impl ResourceArn {
    /// The ARN of a store of the same kind and account named `id` in `region`, as a restored
    /// copy of this store there is named (an S3 ARN carries neither region nor account).
    pub fn in_region(&self, region: &Region, id: &str) -> Self {
        let scoped = self.kind != Kind::S3;
        Self {
            kind: self.kind,
            partition: region.partition().to_string(),
            region: scoped.then(|| region.clone()),
            account: self.account.clone().filter(|_| scoped),
            id: id.to_string(),
        }
    }
}

impl fmt::Display for ResourceArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.region.as_ref().map(Region::as_str).unwrap_or("");
        let account = self.account.as_ref().map(AccountId::as_str).unwrap_or("");
        let (service, resource) = match self.kind {
            Kind::S3 => ("s3", self.id.clone()),
            Kind::Rds => ("rds", format!("db:{}", self.id)),
            Kind::Aurora => ("rds", format!("cluster:{}", self.id)),
            Kind::Dynamodb => ("dynamodb", format!("table/{}", self.id)),
            Kind::Efs => ("elasticfilesystem", format!("file-system/{}", self.id)),
            Kind::Ebs => ("ec2", format!("volume/{}", self.id)),
        };
        write!(
            f,
            "arn:{}:{service}:{region}:{account}:{resource}",
            self.partition
        )
    }
}

impl FromStr for ResourceArn {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ResourceArn {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ResourceArn> for String {
    fn from(a: ResourceArn) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_region_has_its_partition() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(
                super::Region::parse(region).expect("region").partition(),
                partition
            );
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_kind() {
        let cases = [
            ("arn:aws:s3:::my-bucket", Kind::S3, "my-bucket"),
            (
                "arn:aws:rds:eu-west-1:123456789012:db:orders-db",
                Kind::Rds,
                "orders-db",
            ),
            (
                "arn:aws:rds:eu-west-1:123456789012:cluster:orders",
                Kind::Aurora,
                "orders",
            ),
            (
                "arn:aws:dynamodb:us-east-1:123456789012:table/users",
                Kind::Dynamodb,
                "users",
            ),
            (
                "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123abcd",
                Kind::Efs,
                "fs-0123abcd",
            ),
            (
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc",
                Kind::Ebs,
                "vol-0abc",
            ),
        ];
        for (text, kind, id) in cases {
            let arn = ResourceArn::parse(text).expect(text);
            assert_eq!(arn.kind, kind, "{text}");
            assert_eq!(arn.id, id, "{text}");
            assert_eq!(arn.to_string(), text);
        }
    }

    #[test]
    fn refuses_invalid_arns_with_a_reason() {
        for bad in [
            "",
            "not-an-arn",
            "arn:aws:s3",
            "arn:aws:sqs:us-east-1:123456789012:queue",
            "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024",
            "arn:aws:dynamodb:us-east-1:12345:table/users",
            "arn:aws:dynamodb::123456789012:table/users",
            "arn:aws:s3:us-east-1:123456789012:bucket",
            "arn:aws:rds:eu-west-1:123456789012:db:",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        ] {
            let err = ResourceArn::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("invalid ARN"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_copy_in_another_region_keeps_kind_and_account() {
        let dr = Region::parse("us-west-2").expect("region");
        let table = ResourceArn::parse("arn:aws:dynamodb:us-east-1:123456789012:table/orders")
            .expect("arn");
        assert_eq!(
            table.in_region(&dr, "bulwark-fo-x").to_string(),
            "arn:aws:dynamodb:us-west-2:123456789012:table/bulwark-fo-x"
        );
        let bucket = ResourceArn::parse("arn:aws:s3:::assets").expect("arn");
        assert_eq!(
            bucket.in_region(&dr, "bulwark-fo-y").to_string(),
            "arn:aws:s3:::bulwark-fo-y"
        );
        let china = Region::parse("cn-northwest-1").expect("region");
        let db =
            ResourceArn::parse("arn:aws-cn:rds:cn-north-1:123456789012:db:ledger").expect("arn");
        assert_eq!(
            db.in_region(&china, "l").to_string(),
            "arn:aws-cn:rds:cn-northwest-1:123456789012:db:l"
        );
    }

    fn kind_strategy() -> impl Strategy<Value = Kind> {
        prop::sample::select(Kind::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(
            kind in kind_strategy(),
            region in "(us|eu|ap)-(east|west|central)-[1-3]",
            account in "[0-9]{12}",
            id in "[a-z][a-z0-9-]{0,40}",
        ) {
            let region = Region::parse(&region).expect("region");
            let account = AccountId::parse(&account).expect("account");
            let arn = ResourceArn::new(kind, "aws", &region, &account, &id);
            let reparsed = ResourceArn::parse(&arn.to_string()).expect("reparse");
            prop_assert_eq!(reparsed, arn);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = ResourceArn::parse(&s);
        }
    }
}
