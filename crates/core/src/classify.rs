//! Classification: which tier a store belongs to, and why.

use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::config::Config;

/// A tag value that matched none of the values its rule knows. Reported, never a silent
/// default: classification falls through to the next rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnknownValue {
    pub key: String,
    pub value: String,
}

/// What classification decided for one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The tier; None when the store is not backed up.
    pub tier: Option<String>,
    pub backup_required: bool,
    pub reproducible: bool,
    /// The name of the rule that decided.
    pub rule: String,
    /// Human-readable reasons: which tag, name or value decided.
    pub reasons: Vec<String>,
    pub unknown_values: Vec<UnknownValue>,
}

/// Classify one asset by the configuration's ordered rules; the first match wins.
pub fn classify(config: &Config, asset: &Asset) -> Classification {
    let _ = (config, asset);
    Classification {
        tier: Some("standard".into()),
        backup_required: true,
        reproducible: false,
        rule: "default".into(),
        reasons: vec!["placeholder".into()],
        unknown_values: vec![],
    }
}
