//! The one configuration file: the taxonomy (tiers) and the ordered classification rules.
//! docs/configuration.md documents the format; default-config.toml beside this crate's
//! manifest is the built-in default. A user file replaces the default entirely.
//!
//! This module holds the validated model and its public API; `raw` the file's serde shape,
//! `load` the loading (spans to lines, errors naming the line), `rules` the classification
//! rules, `checks` what AWS accepts (names, schedules, lifecycles, locks), `settings` the
//! `[protection]` section, `restore` each tier's `restore_test` table and the
//! `[restore_prerequisites]` tables, `applications` the `[[applications]]` list (failover).

mod applications;
#[cfg(test)]
mod applications_tests;
mod central;
mod checks;
mod load;
mod organization;
mod prices;
mod raw;
mod restore;
#[cfg(test)]
mod restore_tests;
mod rules;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::application::Application;
use crate::backup_cost::StoragePrices;
use crate::kind::Kind;
use crate::restore::Prices;
use crate::taxonomy::Tier;

use load::Loader;
use raw::RawConfig;

// ConfigError lives with the crate's other errors, which wrap it; its path stays here.
pub use crate::error::ConfigError;
pub use central::CentralBackup;
pub use organization::OrganizationPolicies;
pub use restore::RestorePrerequisites;
pub use settings::{default_dr_region, ProtectionSettings};

/// The built-in default configuration, as text (what `Config::builtin` parses).
pub const BUILTIN_TOML: &str = include_str!("../../default-config.toml");

/// Something the loader accepted but wants a person to know: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigWarning {
    pub source_name: String,
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning: {}",
            self.source_name, self.line, self.message
        )
    }
}

/// A validated configuration: tiers in file order, rules in precedence order, the
/// catch-all that decides when no rule does, where and how recovery points are kept, what
/// restores need per region, and the applications that fail over together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    tiers: Vec<Tier>,
    rules: Vec<Rule>,
    catch_all: CatchAll,
    protection: ProtectionSettings,
    restore_prerequisites: BTreeMap<String, RestorePrerequisites>,
    applications: Vec<Application>,
    restore_test_prices: Prices,
    backup_storage_prices: StoragePrices,
    central_backup: Option<CentralBackup>,
    organization_policies: Option<OrganizationPolicies>,
    warnings: Vec<ConfigWarning>,
}

/// The last rule, which matches every asset: held apart so that every classification has a
/// decision by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatchAll {
    pub name: String,
    pub then: Outcome,
}

/// One classification rule. Rules are tried in order; the first that decides wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub name: String,
    /// The kinds the rule applies to; empty means every kind.
    pub kinds: Vec<Kind>,
    pub matcher: Matcher,
}

/// What a rule looks at. Tag keys, tag values and name patterns are held normalized
/// (trimmed, lower-cased): matching is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Matcher {
    /// The first of `keys` the asset carries with a value listed in `values` decides.
    Tag {
        keys: Vec<String>,
        values: BTreeMap<String, Outcome>,
    },
    /// The name (or the `Name` tag) contains one of the patterns anywhere.
    NameContains {
        patterns: Vec<String>,
        then: Outcome,
    },
    /// The name (or the `Name` tag), split into words, has one of the patterns as a word.
    NameWords {
        patterns: Vec<String>,
        then: Outcome,
    },
    /// Every asset (of the rule's kinds).
    Always { then: Outcome },
}

/// What a rule decides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Backed up in this tier.
    Tier(String),
    /// Recorded and classified, not backed up.
    NotBackedUp,
    /// Not backed up because it can be rebuilt from elsewhere.
    Reproducible,
    /// A known value that decides nothing: go on with the next rule.
    Next,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Tier(tier) => tier,
            Outcome::NotBackedUp => "not backed up",
            Outcome::Reproducible => "reproducible, not backed up",
            Outcome::Next => "no decision, next rule",
        })
    }
}

/// Tag keys, tag values and names compare after this: trimmed and lower-cased.
pub(crate) fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Config {
    /// The built-in default of DESIGN.md.
    pub fn builtin() -> Self {
        Self::from_toml_str("<built-in default>", BUILTIN_TOML)
            .expect("the built-in configuration is valid (a unit test loads it)")
    }

    /// Parses and validates a configuration; `source_name` names it in errors.
    pub fn from_toml_str(source_name: &str, text: &str) -> Result<Self, ConfigError> {
        let loader = Loader { source_name, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |span| loader.line(span.start));
            loader.error_at_line(line, e.message().trim_end().to_string())
        })?;
        loader.validate(raw)
    }

    /// The configuration file at `path`, or the built-in default when there is none: how the
    /// CLI (`--config`) and the functions (BULWARK_CONFIG) both load it.
    pub fn load_or_builtin(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(path) => Self::load(path),
            None => Ok(Self::builtin()),
        }
    }

    /// Loads a configuration file. It replaces the built-in default entirely.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: source_name.clone(),
            line: 0,
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Self::from_toml_str(&source_name, &text)
    }

    /// The tiers, in the order the file lists them.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The names of the tiers whose unprotected stores page someone (`alert = true`).
    pub fn alerting_tiers(&self) -> Vec<&str> {
        self.tiers
            .iter()
            .filter(|t| t.alert)
            .map(|t| t.name.as_str())
            .collect()
    }

    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The rules, in precedence order, without the final catch-all.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The final rule, which decides when no other rule does.
    pub fn catch_all(&self) -> &CatchAll {
        &self.catch_all
    }

    /// The `[protection]` section, defaulted where the file leaves it out.
    pub fn protection(&self) -> &ProtectionSettings {
        &self.protection
    }

    /// The prices restore tests' costs are estimated at (`[restore_test_prices]` over the
    /// built-in ones).
    pub fn restore_test_prices(&self) -> &Prices {
        &self.restore_test_prices
    }

    /// The prices recovery points' storage is priced at (`[backup_storage_prices]` over the
    /// built-in ones).
    /// The central backup account, when the configuration names one.
    pub fn central_backup(&self) -> Option<&CentralBackup> {
        self.central_backup.as_ref()
    }

    /// Where the organization's backup policies go, when the configuration protects its
    /// accounts with them (central mode) rather than with a plan in each account.
    pub fn organization_policies(&self) -> Option<&OrganizationPolicies> {
        self.organization_policies.as_ref()
    }

    pub fn backup_storage_prices(&self) -> &StoragePrices {
        &self.backup_storage_prices
    }

    /// What a restore into `region` needs (subnet group, security groups, key, instance
    /// class), if the file has a `[restore_prerequisites."<region>"]` table. None: restores
    /// there use the account's defaults.
    pub fn restore_prerequisites(&self, region: &str) -> Option<&RestorePrerequisites> {
        self.restore_prerequisites.get(region)
    }

    /// The applications failover knows, in the order the file lists them.
    pub fn applications(&self) -> &[Application] {
        &self.applications
    }

    /// The application of that name, if the file declares one.
    pub fn application(&self, name: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.name.as_str() == name)
    }

    /// What loaded but deserves attention: a compliance lock, which cannot be undone, and a
    /// tier lock the shared vault lock must loosen.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}
