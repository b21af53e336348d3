//! The six kinds of data store Bulwark protects.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// A kind of data store. Aurora member instances are not a kind of their own: they belong
/// to their cluster's asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    S3,
    Rds,
    Aurora,
    Dynamodb,
    Efs,
    Ebs,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::S3,
        Kind::Rds,
        Kind::Aurora,
        Kind::Dynamodb,
        Kind::Efs,
        Kind::Ebs,
    ];

    /// The short name used in the CLI, the state table and the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::S3 => "s3",
            Kind::Rds => "rds",
            Kind::Aurora => "aurora",
            Kind::Dynamodb => "dynamodb",
            Kind::Efs => "efs",
            Kind::Ebs => "ebs",
        }
    }

    /// The CloudFormation / AWS Config resource type of this kind.
    pub fn config_resource_type(self) -> &'static str {
        match self {
            Kind::S3 => "AWS::S3::Bucket",
            Kind::Rds => "AWS::RDS::DBInstance",
            Kind::Aurora => "AWS::RDS::DBCluster",
            Kind::Dynamodb => "AWS::DynamoDB::Table",
            Kind::Efs => "AWS::EFS::FileSystem",
            Kind::Ebs => "AWS::EC2::Volume",
        }
    }

    /// The kind an AWS Config resource type names, if it is one Bulwark protects.
    pub fn from_config_resource_type(resource_type: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.config_resource_type() == resource_type)
    }

    /// Whether AWS Backup offers continuous backup (point-in-time restore) for this kind.
    pub fn supports_continuous_backup(self) -> bool {
        matches!(self, Kind::S3 | Kind::Rds | Kind::Aurora)
    }

    /// Whether AWS Backup can move this kind's recovery points to cold storage.
    pub fn supports_cold_storage(self) -> bool {
        matches!(self, Kind::Efs | Kind::Dynamodb | Kind::Ebs)
    }

    /// Whether the kind has a native point-in-time mechanism Bulwark can switch on
    /// outside AWS Backup (DynamoDB PITR).
    pub fn supports_native_pitr(self) -> bool {
        matches!(self, Kind::Dynamodb)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .or_else(|| Kind::from_config_resource_type(s.trim()))
            .ok_or_else(|| CoreError::UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().ok(), Some(kind));
            assert_eq!(kind.config_resource_type().parse::<Kind>().ok(), Some(kind));
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn an_unknown_kind_is_refused_with_its_name() {
        let err = "redshift".parse::<Kind>().expect_err("not a kind");
        assert!(err.to_string().contains("redshift"));
    }
}
