//! What the domain refuses, and why.

use std::fmt;

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
    #[error("invalid configuration aggregator name {0:?}: expected 1 to 256 letters, digits, '_' or '-'")]
    InvalidAggregatorName(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// A configuration the loader refused: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name (or whatever name the text was given).
    pub source_name: String,
    /// 1-based; 0 when the error concerns the file as a whole (it could not be read).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.source_name, self.message)
        } else {
            write!(f, "{}:{}: {}", self.source_name, self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}
