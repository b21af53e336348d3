//! Shared Lambda glue: configuration from the environment, tracing, and errors mapped to a
//! stable `error_type` that Step Functions can match in Retry and Catch.

use std::path::PathBuf;

use bulwark_aws::{Aws, Inventory, Reach};
use bulwark_core::{Config, Region};
use lambda_runtime::Diagnostic;
use thiserror::Error;

/// The `error_type` values a function can fail with. Step Functions retries the first.
pub mod error_type {
    pub const RETRYABLE: &str = "Bulwark.Retryable";
    pub const INVALID_INPUT: &str = "Bulwark.InvalidInput";
    pub const FAILED: &str = "Bulwark.Failed";
}

#[derive(Debug, Error)]
pub enum FunctionError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Aws(#[from] bulwark_aws::AwsError),
}

impl FunctionError {
    pub fn error_type(&self) -> &'static str {
        match self {
            FunctionError::InvalidInput(_) => error_type::INVALID_INPUT,
            FunctionError::Aws(e) if e.is_retryable() => error_type::RETRYABLE,
            FunctionError::Config(_) | FunctionError::Aws(_) => error_type::FAILED,
        }
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(err: FunctionError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_string(),
            error_message: err.to_string(),
        }
    }
}

/// A function's request as the runtime hands it over: the payload as its type, or why it is
/// not one. Deserializing it never fails, so that a malformed event reaches the handler and
/// is answered `Bulwark.InvalidInput`: the runtime's own deserialization error carries no
/// type that Step Functions could tell from a crash.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<T> {
    Parsed(T),
    Invalid(String),
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Input<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self::from_value(value))
    }
}

impl<T: serde::de::DeserializeOwned> Input<T> {
    pub fn from_value(value: serde_json::Value) -> Self {
        match serde_json::from_value(value) {
            Ok(parsed) => Input::Parsed(parsed),
            Err(e) => Input::Invalid(e.to_string()),
        }
    }

    /// The request, or `Bulwark.InvalidInput` saying what was `expected`.
    pub fn request(self, expected: &str) -> Result<T, FunctionError> {
        match self {
            Input::Parsed(request) => Ok(request),
            Input::Invalid(why) => Err(FunctionError::InvalidInput(format!(
                "expected {expected}: {why}"
            ))),
        }
    }
}

/// The deployment's settings, read from the environment once per cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// BULWARK_TABLE: the state table.
    pub table: String,
    /// BULWARK_REGIONS (comma-separated) and BULWARK_ORG_ROLE.
    pub reach: Reach,
    /// BULWARK_CONFIG: the configuration file; the built-in default when unset.
    pub config_path: Option<PathBuf>,
    /// BULWARK_CONCURRENCY: regions swept at once.
    pub concurrency: usize,
    /// BULWARK_DISCOVERY_SOURCE: `api` (the default) or `config`; with BULWARK_CONFIG_AGGREGATOR,
    /// `config` reads that aggregator.
    pub discovery_source: bulwark_aws::discovery::Source,
}

pub use bulwark_aws::store::DEFAULT_TABLE;

impl Settings {
    pub fn from_env() -> Result<Self, FunctionError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, FunctionError> {
        let regions = match get("BULWARK_REGIONS") {
            Some(list) => {
                Region::parse_list(&list).map_err(|e| FunctionError::Config(e.to_string()))?
            }
            None => Vec::new(),
        };
        let concurrency = match get("BULWARK_CONCURRENCY") {
            Some(n) => n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    FunctionError::Config(format!(
                        "BULWARK_CONCURRENCY={n:?} is not a positive number"
                    ))
                })?,
            None => 8,
        };
        let discovery_source = bulwark_aws::discovery::Source::parse(
            get("BULWARK_DISCOVERY_SOURCE")
                .as_deref()
                .unwrap_or_default(),
            get("BULWARK_CONFIG_AGGREGATOR").as_deref(),
        )
        .map_err(|e| {
            FunctionError::Config(format!(
                "BULWARK_DISCOVERY_SOURCE and BULWARK_CONFIG_AGGREGATOR: {e}"
            ))
        })?;
        Ok(Self {
            table: get("BULWARK_TABLE")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_TABLE.to_string()),
            reach: Reach {
                regions,
                org_role: get("BULWARK_ORG_ROLE").filter(|r| !r.trim().is_empty()),
            },
            config_path: get("BULWARK_CONFIG")
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from),
            concurrency,
            discovery_source,
        })
    }

    /// The taxonomy and rules: the configured file, or the built-in default.
    pub fn load_config(&self) -> Result<Config, FunctionError> {
        Config::load_or_builtin(self.config_path.as_deref())
            .map_err(|e| FunctionError::Config(e.to_string()))
    }
}

/// A wait in seconds from the environment variable `key` (`value`, unset: `default`): from 1
/// to 3600, else the variable is named in the error.
pub fn poll_seconds(key: &str, value: Option<String>, default: u64) -> Result<u64, FunctionError> {
    match value {
        Some(n) => n
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=3600).contains(n))
            .ok_or_else(|| {
                FunctionError::Config(format!(
                    "{key}={n:?} is not a number of seconds from 1 to 3600"
                ))
            }),
        None => Ok(default),
    }
}

/// What every function holds for its lifetime: built once in `main`.
#[derive(Debug, Clone)]
pub struct Services {
    pub aws: Aws,
    pub inventory: Inventory,
    pub config: Config,
    pub settings: Settings,
}

impl Services {
    pub async fn from_env() -> Result<Self, FunctionError> {
        let settings = Settings::from_env()?;
        let config = settings.load_config()?;
        let aws = Aws::load()
            .await
            .with_org_role(settings.reach.org_role.clone());
        let inventory = Inventory::new(aws.dynamodb(), settings.table.clone());
        Ok(Self {
            aws,
            inventory,
            config,
            settings,
        })
    }
}

/// JSON logs to stdout, for CloudWatch; the level from RUST_LOG (default info).
pub fn init_tracing() {
    bulwark_aws::telemetry::init(bulwark_aws::telemetry::Output::Lambda);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_aws::AwsError;

    #[test]
    fn settings_default_and_parse() {
        let s = Settings::from_lookup(|_| None).expect("defaults");
        assert_eq!(s.table, DEFAULT_TABLE);
        assert!(s.reach.regions.is_empty());
        assert_eq!(s.concurrency, 8);
        let s = Settings::from_lookup(|k| match k {
            "BULWARK_REGIONS" => Some(" us-east-1 ,eu-west-1".into()),
            "BULWARK_TABLE" => Some("t".into()),
            "BULWARK_ORG_ROLE" => Some("BulwarkMember".into()),
            _ => None,
        })
        .expect("settings");
        assert_eq!(s.reach.regions.len(), 2);
        assert_eq!(s.table, "t");
        assert_eq!(s.reach.org_role.as_deref(), Some("BulwarkMember"));
    }

    #[test]
    fn bad_settings_name_the_culprit() {
        let err =
            Settings::from_lookup(|k| (k == "BULWARK_REGIONS").then(|| "us-east-1,mars".into()))
                .expect_err("bad region");
        assert!(err.to_string().contains("mars"), "{err}");
        let err = Settings::from_lookup(|k| (k == "BULWARK_CONCURRENCY").then(|| "0".into()))
            .expect_err("zero");
        assert!(err.to_string().contains("BULWARK_CONCURRENCY"), "{err}");
    }

    #[test]
    fn a_payload_of_the_wrong_shape_is_invalid_input_not_a_runtime_error() {
        #[derive(Debug, serde::Deserialize)]
        struct Wanted {
            #[allow(dead_code)]
            name: String,
        }
        let bad: Input<Wanted> = serde_json::from_str(r#"{"nom": 1}"#).expect("never fails");
        let err = bad.request("{\"name\"}").expect_err("invalid");
        assert_eq!(err.error_type(), error_type::INVALID_INPUT);
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        let good: Input<Wanted> = serde_json::from_str(r#"{"name": "x"}"#).expect("parses");
        assert!(good.request("{\"name\"}").is_ok());
    }

    #[test]
    fn errors_map_to_stable_error_types() {
        let throttled = FunctionError::Aws(AwsError::Service {
            operation: "rds:DescribeDBInstances",
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
            retryable: true,
        });
        assert_eq!(
            Diagnostic::from(throttled).error_type,
            error_type::RETRYABLE
        );
        let bad = FunctionError::InvalidInput("no detail".into());
        assert_eq!(Diagnostic::from(bad).error_type, error_type::INVALID_INPUT);
        let denied = FunctionError::Aws(AwsError::Service {
            operation: "s3:ListBuckets",
            code: "AccessDenied".into(),
            message: "no".into(),
            retryable: false,
        });
        assert_eq!(Diagnostic::from(denied).error_type, error_type::FAILED);
    }
}
