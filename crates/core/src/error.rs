use thiserror::Error;

/// Everything the domain can refuse.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid ARN {arn:?}: {reason}")]
    InvalidArn { arn: String, reason: String },
    #[error("unknown kind {0:?}: expected one of s3, rds, aurora, dynamodb, efs, ebs")]
    UnknownKind(String),
    #[error("invalid account id {0:?}: expected 12 digits")]
    InvalidAccountId(String),
    #[error("invalid region {0:?}")]
    InvalidRegion(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
}
