//! The one configuration file: taxonomy and classification rules.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{source_name}:{line}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {}

impl Config {
    pub fn builtin() -> Self {
        Config {}
    }
}
