//! The one configuration file: the taxonomy (tiers) and the ordered classification rules.
//! docs/configuration.md documents the format; default-config.toml beside this crate's
//! manifest is the built-in default. A user file replaces the default entirely.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::arn::Region;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::protection::{
    ProtectionSettings, COMPLIANCE_GRACE_DAYS, LONGEST_GROUP_NAME, NAME_PREFIX,
};
use crate::taxonomy::{
    shared_lock, Lock, LockMode, Tier, CONTINUOUS_RETENTION_MAX, MIN_COLD_STORAGE_STAY,
    MIN_FREQUENCY, MIN_START_WINDOW,
};

/// The built-in default configuration, as text (what `Config::builtin` parses).
pub const BUILTIN_TOML: &str = include_str!("../default-config.toml");

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
/// catch-all that decides when no rule does, and where and how recovery points are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    tiers: Vec<Tier>,
    rules: Vec<Rule>,
    catch_all: CatchAll,
    protection: ProtectionSettings,
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

const NOT_BACKED_UP: &str = "not-backed-up";
const REPRODUCIBLE: &str = "reproducible";
const NEXT: &str = "next";
const RESERVED_OUTCOMES: [&str; 3] = [NOT_BACKED_UP, REPRODUCIBLE, NEXT];

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

    /// What loaded but deserves attention: a compliance lock, which cannot be undone, and a
    /// tier lock the shared vault lock must loosen.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tiers: BTreeMap<Spanned<String>, Spanned<RawTier>>,
    #[serde(default)]
    rules: Vec<RawRule>,
    protection: Option<RawProtection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProtection {
    vault_name: Option<Spanned<String>>,
    dr_region: Option<Spanned<String>>,
    dr_regions: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    kms_key_alias: Option<Spanned<String>>,
    backup_role_name: Option<Spanned<String>>,
    admin_role_names: Option<Spanned<Vec<Spanned<String>>>>,
    maintainer_role_names: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    allow_compliance_lock: bool,
    #[serde(default)]
    rds_apply_immediately: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    rpo: Spanned<Duration>,
    rto: Spanned<Duration>,
    frequency: Spanned<Duration>,
    frequency_without_continuous: Option<Spanned<Duration>>,
    cron: Option<Spanned<String>>,
    start_window: Option<Spanned<Duration>>,
    completion_window: Option<Spanned<Duration>>,
    retention: Spanned<Duration>,
    cold_storage_after: Option<Spanned<Duration>>,
    cross_region_copy: Option<Spanned<bool>>,
    #[serde(default)]
    continuous_backup: bool,
    lock: Option<Spanned<RawLock>>,
    #[serde(default)]
    alert: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    mode: Option<Spanned<LockMode>>,
    min_retention: Spanned<Duration>,
    max_retention: Option<Spanned<Duration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    kinds: Option<Spanned<Vec<Kind>>>,
    tag_keys: Option<Spanned<Vec<Spanned<String>>>>,
    tag_values: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    name_contains: Option<Spanned<Vec<Spanned<String>>>>,
    name_words: Option<Spanned<Vec<Spanned<String>>>>,
    then: Option<Spanned<String>>,
}

const DEFAULT_START_WINDOW: Duration = Duration::from_hours(1);
const DEFAULT_COMPLETION_WINDOW: Duration = Duration::from_days(1);
/// AWS Backup's limit on retention, vault locks included.
const MAX_RETENTION: Duration = Duration::from_days(36_500);
/// AWS Backup allows 50 characters in plan and selection names, and the longest is
/// "bulwark-<tier>-dynamodb-efsebs-assets".
const MAX_TIER_NAME: usize = 50 - NAME_PREFIX.len() - 1 - LONGEST_GROUP_NAME - "-assets".len();

/// A tier as loaded, with where the loader may need to point later.
struct LoadedTier {
    tier: Tier,
    retention: Range<usize>,
    copy: Option<Range<usize>>,
    compliance_lock: Option<Range<usize>>,
}

struct Loader<'a> {
    source_name: &'a str,
    text: &'a str,
}

impl Loader<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error_at_line(&self, line: usize, message: String) -> ConfigError {
        ConfigError {
            source_name: self.source_name.to_string(),
            line,
            message,
        }
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        self.error_at_line(self.line(span.start), message.into())
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        // A BTreeMap sorts tiers by name; the file's order is the one people wrote and read.
        let mut raw_tiers: Vec<_> = raw.tiers.into_iter().collect();
        raw_tiers.sort_by_key(|(name, _)| name.span().start);
        if raw_tiers.is_empty() {
            return Err(self.error_at_line(
                1,
                "no tiers: define at least one [tiers.<name>] table".into(),
            ));
        }
        let (protection, dr_region_given) = self.protection(raw.protection)?;
        let loaded = raw_tiers
            .into_iter()
            .map(|(name, tier)| self.tier(name, tier, protection.allow_compliance_lock))
            .collect::<Result<Vec<_>, _>>()?;
        let first_copy = loaded
            .iter()
            .find_map(|t| t.copy.clone().map(|span| (&t.tier.name, span)));
        if let Some((tier, span)) = first_copy.filter(|_| !dr_region_given) {
            return Err(self.error(
                span,
                format!(
                    "tier {tier:?} copies to the DR region, but [protection] names no \
                     dr_region (nor dr_regions): say where the copies go"
                ),
            ));
        }
        let mut warnings = self.check_vault_locks(&loaded)?;
        for tier in &loaded {
            if let Some(span) = &tier.compliance_lock {
                warnings.push(self.warning(
                    span.clone(),
                    format!(
                        "tier {:?}: a compliance lock cannot be undone, by anyone, AWS \
                         included, once its {COMPLIANCE_GRACE_DAYS}-day grace period passes",
                        tier.tier.name
                    ),
                ));
            }
        }
        let tiers: Vec<Tier> = loaded.into_iter().map(|t| t.tier).collect();
        let (rules, catch_all) = self.rules(raw.rules, &tiers)?;
        Ok(Config {
            tiers,
            rules,
            catch_all,
            protection,
            warnings,
        })
    }

    fn warning(&self, span: Range<usize>, message: String) -> ConfigWarning {
        ConfigWarning {
            source_name: self.source_name.to_string(),
            line: self.line(span.start),
            message,
        }
    }

    /// The `[protection]` section with defaults, and whether it names a DR region.
    fn protection(
        &self,
        raw: Option<RawProtection>,
    ) -> Result<(ProtectionSettings, bool), ConfigError> {
        let defaults = ProtectionSettings::default();
        let Some(raw) = raw else {
            return Ok((defaults, false));
        };
        let text = |value: Option<Spanned<String>>,
                    default: String,
                    check: fn(&str) -> Result<(), String>,
                    field: &str| {
            match value {
                None => Ok(default),
                Some(value) => check(value.get_ref())
                    .map(|()| value.get_ref().clone())
                    .map_err(|why| {
                        self.error(
                            value.span(),
                            format!("[protection] {field} {:?}: {why}", value.get_ref()),
                        )
                    }),
            }
        };
        let dr_region_given = raw.dr_region.is_some() || raw.dr_regions.is_some();
        let mut dr_regions = BTreeMap::new();
        for (source, target) in raw.dr_regions.unwrap_or_default() {
            for (region, span) in [
                (source.get_ref(), source.span()),
                (target.get_ref(), target.span()),
            ] {
                check_region(region).map_err(|why| {
                    self.error(span, format!("[protection.dr_regions] {region:?}: {why}"))
                })?;
            }
            if source.get_ref() == target.get_ref() {
                return Err(self.error(
                    target.span(),
                    format!(
                        "[protection.dr_regions] {:?} is its own DR region: copies would go \
                         back into the vault they came from",
                        source.get_ref()
                    ),
                ));
            }
            dr_regions.insert(source.into_inner(), target.into_inner());
        }
        let admin_role_names = self.role_names(
            raw.admin_role_names,
            defaults.admin_role_names,
            "admin_role_names",
            "name at least one role that may delete recovery points",
            check_role_name,
        )?;
        let maintainer_role_names = self.role_names(
            raw.maintainer_role_names,
            defaults.maintainer_role_names,
            "maintainer_role_names",
            "name the roles Bulwark runs as",
            check_role_pattern,
        )?;
        let settings = ProtectionSettings {
            vault_name: text(
                raw.vault_name,
                defaults.vault_name,
                check_vault_name,
                "vault_name",
            )?,
            dr_region: text(raw.dr_region, defaults.dr_region, check_region, "dr_region")?,
            dr_regions,
            kms_key_alias: text(
                raw.kms_key_alias,
                defaults.kms_key_alias,
                check_kms_alias,
                "kms_key_alias",
            )?,
            backup_role_name: text(
                raw.backup_role_name,
                defaults.backup_role_name,
                check_role_name,
                "backup_role_name",
            )?,
            admin_role_names,
            maintainer_role_names,
            allow_compliance_lock: raw.allow_compliance_lock,
            rds_apply_immediately: raw.rds_apply_immediately,
        };
        Ok((settings, dr_region_given))
    }

    /// A list of role names: not empty, each well formed and listed once.
    fn role_names(
        &self,
        raw: Option<Spanned<Vec<Spanned<String>>>>,
        default: Vec<String>,
        field: &str,
        when_empty: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(list) = raw else {
            return Ok(default);
        };
        if list.get_ref().is_empty() {
            return Err(self.error(
                list.span(),
                format!("[protection] {field} is empty: {when_empty}"),
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for name in list.into_inner() {
            let problem = check(name.get_ref()).err().or_else(|| {
                names
                    .contains(name.get_ref())
                    .then(|| "is listed twice".to_string())
            });
            if let Some(problem) = problem {
                return Err(self.error(
                    name.span(),
                    format!("[protection] {field} entry {:?}: {problem}", name.get_ref()),
                ));
            }
            names.push(name.into_inner());
        }
        Ok(names)
    }

    /// Each vault has one lock for every tier whose recovery points it holds (the primary
    /// vault: every tier; the DR vault: the tiers that copy). It must admit every one of
    /// them, or AWS Backup fails their jobs. A tier whose own lock the shared one loosens is
    /// warned about.
    fn check_vault_locks(&self, tiers: &[LoadedTier]) -> Result<Vec<ConfigWarning>, ConfigError> {
        let mut warnings = Vec::new();
        let copying: Vec<&LoadedTier> = tiers.iter().filter(|t| t.copy.is_some()).collect();
        let all: Vec<&LoadedTier> = tiers.iter().collect();
        for (vault, users) in [("primary", all), ("DR", copying)] {
            let Some(lock) = shared_lock(users.iter().map(|t| &t.tier)) else {
                continue;
            };
            let asker = |pick: &dyn Fn(&Lock) -> bool| {
                users
                    .iter()
                    .find(|t| t.tier.lock.as_ref().is_some_and(pick))
                    .map_or("", |t| t.tier.name.as_str())
            };
            for user in &users {
                let tier = &user.tier;
                // Copies carry the snapshot lifecycle; continuous points stay in the primary.
                let (shortest, what) = if vault == "primary" && tier.has_continuous_rule() {
                    (tier.shortest_retention(), "its continuous backups are kept")
                } else {
                    (tier.retention, "its recovery points are kept")
                };
                if shortest < lock.min_retention {
                    return Err(self.error(
                        user.retention.clone(),
                        format!(
                            "tier {:?}: {what} {shortest}, less than the min_retention {} of \
                             the {vault} vault's lock (asked by tier {:?}): the lock would \
                             refuse them, and one lock covers the vault",
                            tier.name,
                            lock.min_retention,
                            asker(&|l| l.min_retention == lock.min_retention)
                        ),
                    ));
                }
                if let Some(max) = lock.max_retention.filter(|&max| tier.retention > max) {
                    return Err(self.error(
                        user.retention.clone(),
                        format!(
                            "tier {:?}: its recovery points are kept {}, more than the \
                             max_retention {max} of the {vault} vault's lock (asked by tier \
                             {:?}): the lock would refuse them, and one lock covers the vault",
                            tier.name,
                            tier.retention,
                            asker(&|l| l.max_retention == Some(max))
                        ),
                    ));
                }
                if let Some(own) = tier
                    .lock
                    .filter(|own| own.min_retention > lock.min_retention)
                {
                    warnings.push(self.warning(
                        user.retention.clone(),
                        format!(
                            "tier {:?} asks a lock min_retention of {}, but the {vault} vault \
                             holds every tier's recovery points and its lock can be no stricter \
                             than {}: this tier's recovery points are locked for {} only",
                            tier.name, own.min_retention, lock.min_retention, lock.min_retention
                        ),
                    ));
                }
            }
        }
        Ok(warnings)
    }

    fn tier(
        &self,
        name: Spanned<String>,
        raw: Spanned<RawTier>,
        allow_compliance_lock: bool,
    ) -> Result<LoadedTier, ConfigError> {
        let span = name.span();
        let name = name.into_inner();
        let raw = raw.into_inner();
        let well_formed = !name.is_empty()
            && name.len() <= MAX_TIER_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(self.error(
                span,
                format!(
                    "tier name {name:?}: use 1 to {MAX_TIER_NAME} letters, digits, '-' or '_' \
                     (it becomes part of AWS Backup plan and selection names, which allow 50)"
                ),
            ));
        }
        if RESERVED_OUTCOMES.contains(&name.as_str()) {
            return Err(self.error(
                span.clone(),
                format!("tier name {name:?} is reserved: rules use it as an outcome"),
            ));
        }
        let located =
            |(span, message): Problem| self.error(span, format!("tier {name:?}: {message}"));
        check_objectives(&raw).map_err(located)?;
        check_schedule(&raw).map_err(located)?;
        let (start_window, completion_window) = windows(&raw, span).map_err(located)?;
        check_lifecycle(&raw).map_err(located)?;
        let compliance_lock = raw
            .lock
            .as_ref()
            .and_then(|lock| lock.get_ref().mode.as_ref())
            .filter(|mode| *mode.get_ref() == LockMode::Compliance)
            .map(Spanned::span);
        if let Some(mode) = compliance_lock.clone().filter(|_| !allow_compliance_lock) {
            return Err(located((
                mode,
                format!(
                    "a compliance lock cannot be undone, by anyone, AWS included, once its \
                     {COMPLIANCE_GRACE_DAYS}-day grace period passes; set \
                     allow_compliance_lock = true in [protection] to ask for one deliberately"
                ),
            )));
        }
        let lock = raw
            .lock
            .map(|lock| lock_of(lock.into_inner(), &raw.retention, raw.continuous_backup))
            .transpose()
            .map_err(located)?;
        let tier = Tier {
            rpo: *raw.rpo.get_ref(),
            rto: *raw.rto.get_ref(),
            frequency: *raw.frequency.get_ref(),
            frequency_without_continuous: raw.frequency_without_continuous.map(|f| *f.get_ref()),
            cron: raw.cron.map(Spanned::into_inner),
            start_window,
            completion_window,
            retention: *raw.retention.get_ref(),
            cold_storage_after: raw.cold_storage_after.map(|c| *c.get_ref()),
            cross_region_copy: raw.cross_region_copy.as_ref().is_some_and(|c| *c.get_ref()),
            continuous_backup: raw.continuous_backup,
            lock,
            alert: raw.alert,
            name,
        };
        Ok(LoadedTier {
            tier,
            retention: raw.retention.span(),
            copy: raw
                .cross_region_copy
                .filter(|c| *c.get_ref())
                .map(|c| c.span()),
            compliance_lock,
        })
    }

    fn rules(
        &self,
        raw: Vec<RawRule>,
        tiers: &[Tier],
    ) -> Result<(Vec<Rule>, CatchAll), ConfigError> {
        if raw.is_empty() {
            return Err(self.error_at_line(
                1,
                "no rules: add at least one [[rules]], the last with only a name and `then`".into(),
            ));
        }
        let mut first_seen: HashMap<String, usize> = HashMap::new();
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.len());
        let mut catch_all: Option<CatchAll> = None;
        for raw in raw {
            let name_span = raw.name.span();
            let name = raw.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(self.error(name_span, "a rule needs a non-empty name"));
            }
            if let Some(line) = first_seen.get(&name) {
                return Err(self.error(
                    name_span,
                    format!("duplicate rule name {name:?} (first at line {line})"),
                ));
            }
            first_seen.insert(name.clone(), self.line(name_span.start));
            if let Some(before) = &catch_all {
                return Err(self.error(
                    name_span,
                    format!(
                        "rule {name:?} can never match: rule {:?} before it matches every asset",
                        before.name
                    ),
                ));
            }
            match self.rule(name, raw, tiers)? {
                Rule {
                    name,
                    kinds,
                    matcher: Matcher::Always { then },
                } if kinds.is_empty() => catch_all = Some(CatchAll { name, then }),
                rule => rules.push(rule),
            }
        }
        let Some(catch_all) = catch_all else {
            let last = rules.last().map_or("", |r| r.name.as_str());
            let line = first_seen.get(last).copied().unwrap_or(1);
            return Err(self.error_at_line(
                line,
                format!(
                    "the last rule {last:?} must match every asset (only a name and `then`, \
                     no tag_keys, name_contains, name_words or kinds), so every store gets a \
                     decision"
                ),
            ));
        };
        Ok((rules, catch_all))
    }

    fn rule(&self, name: String, raw: RawRule, tiers: &[Tier]) -> Result<Rule, ConfigError> {
        let name_span = raw.name.span();
        let fail = |span: Range<usize>, message: String| {
            self.error(span, format!("rule {name:?}: {message}"))
        };
        let kinds = match raw.kinds {
            Some(kinds) if kinds.get_ref().is_empty() => {
                return Err(fail(
                    kinds.span(),
                    "kinds = [] matches nothing; leave kinds out to match every kind".into(),
                ))
            }
            Some(kinds) => kinds.into_inner(),
            None => Vec::new(),
        };
        let outcome = |text: &Spanned<String>, allow_next: bool| {
            outcome_of(text.get_ref(), tiers, allow_next)
                .map_err(|message| self.error(text.span(), format!("rule {name:?}: {message}")))
        };

        let matchers = [
            ("tag_keys", raw.tag_keys.is_some()),
            ("name_contains", raw.name_contains.is_some()),
            ("name_words", raw.name_words.is_some()),
        ];
        let present: Vec<&str> = matchers.iter().filter(|m| m.1).map(|m| m.0).collect();
        if present.len() > 1 {
            return Err(fail(
                name_span,
                format!("use one matcher per rule, not {}", present.join(" and ")),
            ));
        }

        let matcher = if let Some(keys) = raw.tag_keys {
            if let Some(then) = &raw.then {
                return Err(fail(
                    then.span(),
                    "a tag_keys rule decides by tag_values; `then` is for name and catch-all \
                     rules"
                        .into(),
                ));
            }
            let Some(values) = raw.tag_values else {
                return Err(fail(
                    keys.span(),
                    "tag_keys needs tag_values, a table from each known value to its outcome"
                        .into(),
                ));
            };
            let keys = self.patterns(&name, "tag_keys", keys, |_| Ok(()))?;
            if values.get_ref().is_empty() {
                return Err(fail(values.span(), "tag_values is empty".into()));
            }
            let mut known: BTreeMap<String, Outcome> = BTreeMap::new();
            let mut written: HashMap<String, String> = HashMap::new();
            for (value, then) in values.into_inner() {
                let normalized = normalize(value.get_ref());
                if let Some(earlier) = written.get(&normalized) {
                    return Err(fail(
                        value.span(),
                        format!(
                            "tag value {:?} is listed twice (also as {earlier:?}); values \
                             match case-insensitively",
                            value.get_ref()
                        ),
                    ));
                }
                written.insert(normalized.clone(), value.get_ref().clone());
                known.insert(normalized, outcome(&then, true)?);
            }
            Matcher::Tag {
                keys,
                values: known,
            }
        } else {
            if let Some(values) = &raw.tag_values {
                return Err(fail(values.span(), "tag_values needs tag_keys".into()));
            }
            let Some(then) = &raw.then else {
                return Err(fail(
                    name_span,
                    "needs `then`: the outcome when the rule matches".into(),
                ));
            };
            let then = outcome(then, false)?;
            if let Some(patterns) = raw.name_contains {
                let patterns = self.patterns(&name, "name_contains", patterns, |_| Ok(()))?;
                Matcher::NameContains { patterns, then }
            } else if let Some(patterns) = raw.name_words {
                let patterns =
                    self.patterns(&name, "name_words", patterns, |p| {
                        if p.chars().all(char::is_alphanumeric) {
                            Ok(())
                        } else {
                            Err("is not a single word (letters and digits only); use name_contains \
                             for other text")
                        }
                    })?;
                Matcher::NameWords { patterns, then }
            } else {
                Matcher::Always { then }
            }
        };
        Ok(Rule {
            name,
            kinds,
            matcher,
        })
    }

    /// A non-empty list of distinct, non-empty patterns, normalized.
    fn patterns(
        &self,
        rule: &str,
        field: &str,
        list: Spanned<Vec<Spanned<String>>>,
        check: impl Fn(&str) -> Result<(), &'static str>,
    ) -> Result<Vec<String>, ConfigError> {
        if list.get_ref().is_empty() {
            return Err(self.error(list.span(), format!("rule {rule:?}: {field} is empty")));
        }
        let mut out: Vec<String> = Vec::new();
        for item in list.into_inner() {
            let normalized = normalize(item.get_ref());
            let problem = if normalized.is_empty() {
                Some("is empty")
            } else if out.contains(&normalized) {
                Some("is listed twice (matching is case-insensitive)")
            } else {
                check(&normalized).err()
            };
            if let Some(problem) = problem {
                return Err(self.error(
                    item.span(),
                    format!(
                        "rule {rule:?}: {field} entry {:?} {problem}",
                        item.get_ref()
                    ),
                ));
            }
            out.push(normalized);
        }
        Ok(out)
    }
}

/// A rule's outcome: a tier name or one of the reserved words.
fn outcome_of(text: &str, tiers: &[Tier], allow_next: bool) -> Result<Outcome, String> {
    match text.trim() {
        NOT_BACKED_UP => Ok(Outcome::NotBackedUp),
        REPRODUCIBLE => Ok(Outcome::Reproducible),
        NEXT if allow_next => Ok(Outcome::Next),
        NEXT => Err("\"next\" decides nothing; a name or catch-all rule must decide".into()),
        tier if tiers.iter().any(|t| t.name == tier) => Ok(Outcome::Tier(tier.to_string())),
        unknown => {
            let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
            Err(format!(
                "{unknown:?} is not a tier ({}) nor one of {NOT_BACKED_UP}, \
                 {REPRODUCIBLE}{}",
                names.join(", "),
                if allow_next { ", next" } else { "" }
            ))
        }
    }
}

/// What is wrong with a tier, and where.
type Problem = (Range<usize>, String);

fn check_objectives(raw: &RawTier) -> Result<(), Problem> {
    for (field, value) in [("rpo", &raw.rpo), ("rto", &raw.rto)] {
        if *value.get_ref() == Duration::ZERO {
            return Err((value.span(), format!("{field} must be longer than 0m")));
        }
    }
    Ok(())
}

fn check_schedule(raw: &RawTier) -> Result<(), Problem> {
    let frequencies = [
        ("frequency", Some(&raw.frequency)),
        (
            "frequency_without_continuous",
            raw.frequency_without_continuous.as_ref(),
        ),
    ];
    for (field, value) in frequencies {
        if let Some(value) = value.filter(|v| *v.get_ref() < MIN_FREQUENCY) {
            return Err((
                value.span(),
                format!(
                    "{field} {} is shorter than {MIN_FREQUENCY}, the most frequent schedule \
                     AWS Backup accepts",
                    value.get_ref()
                ),
            ));
        }
    }
    if let Some(faster) = raw
        .frequency_without_continuous
        .as_ref()
        .filter(|_| !raw.continuous_backup)
    {
        return Err((
            faster.span(),
            "frequency_without_continuous applies only with continuous_backup = true".into(),
        ));
    }
    if let Some(cron) = &raw.cron {
        check_cron(cron.get_ref())
            .map_err(|reason| (cron.span(), format!("cron {:?}: {reason}", cron.get_ref())))?;
    }
    Ok(())
}

/// The start and completion windows, defaulted; `tier` locates problems with defaults.
fn windows(raw: &RawTier, tier: Range<usize>) -> Result<(Duration, Duration), Problem> {
    let value =
        |w: &Option<Spanned<Duration>>, default| w.as_ref().map_or(default, |w| *w.get_ref());
    let start = value(&raw.start_window, DEFAULT_START_WINDOW);
    let completion = value(&raw.completion_window, DEFAULT_COMPLETION_WINDOW);
    if let Some(window) = raw
        .start_window
        .as_ref()
        .filter(|_| start < MIN_START_WINDOW)
    {
        return Err((
            window.span(),
            format!(
                "start_window {start} is shorter than {MIN_START_WINDOW}, the least AWS \
                 Backup accepts"
            ),
        ));
    }
    if completion <= start {
        let span = raw
            .completion_window
            .as_ref()
            .or(raw.start_window.as_ref())
            .map_or(tier, Spanned::span);
        return Err((
            span,
            format!(
                "completion_window {completion} must be longer than start_window {start}: \
                 AWS Backup counts both from the scheduled time"
            ),
        ));
    }
    Ok((start, completion))
}

/// A whole number of days from 1d to `max`: AWS Backup counts retention in days.
fn check_days(field: &str, value: &Spanned<Duration>, max: Duration) -> Result<(), Problem> {
    let d = *value.get_ref();
    if d.whole_days().is_none_or(|days| days == 0) || d > max {
        return Err((
            value.span(),
            format!("{field} {d} must be a whole number of days from 1d to {max}"),
        ));
    }
    Ok(())
}

fn check_lifecycle(raw: &RawTier) -> Result<(), Problem> {
    check_days("retention", &raw.retention, MAX_RETENTION)?;
    let retention = *raw.retention.get_ref();
    if let Some(cold) = &raw.cold_storage_after {
        check_days("cold_storage_after", cold, MAX_RETENTION)?;
        let after = *cold.get_ref();
        let stay =
            Duration::from_minutes(retention.as_minutes().saturating_sub(after.as_minutes()));
        if stay < MIN_COLD_STORAGE_STAY {
            return Err((
                cold.span(),
                format!(
                    "cold_storage_after {after} leaves {stay} in cold storage before the \
                     retention of {retention} deletes it; AWS Backup requires at least \
                     {MIN_COLD_STORAGE_STAY}"
                ),
            ));
        }
    }
    Ok(())
}

/// A lock must admit the tier's own recovery points, or AWS Backup fails every job.
fn lock_of(
    raw: RawLock,
    retention: &Spanned<Duration>,
    continuous_backup: bool,
) -> Result<Lock, Problem> {
    let retention = *retention.get_ref();
    check_days("lock min_retention", &raw.min_retention, MAX_RETENTION)?;
    if let Some(max) = &raw.max_retention {
        check_days("lock max_retention", max, MAX_RETENTION)?;
    }
    let min = *raw.min_retention.get_ref();
    let refuses = "the vault lock would refuse every backup of this tier";
    if min > retention {
        return Err((
            raw.min_retention.span(),
            format!("lock min_retention {min} exceeds the tier's retention {retention}: {refuses}"),
        ));
    }
    if let Some(max) = raw
        .max_retention
        .as_ref()
        .filter(|m| *m.get_ref() < retention)
    {
        return Err((
            max.span(),
            format!(
                "lock max_retention {} is shorter than the tier's retention {retention}: \
                 {refuses}",
                max.get_ref()
            ),
        ));
    }
    if continuous_backup && min > CONTINUOUS_RETENTION_MAX {
        return Err((
            raw.min_retention.span(),
            format!(
                "lock min_retention {min} exceeds {CONTINUOUS_RETENTION_MAX}, the longest AWS \
                 Backup keeps continuous backups: the lock would refuse this tier's continuous \
                 backups"
            ),
        ));
    }
    Ok(Lock {
        mode: raw.mode.map_or(LockMode::Governance, Spanned::into_inner),
        min_retention: min,
        max_retention: raw.max_retention.map(|m| *m.get_ref()),
    })
}

/// AWS Backup's rule for vault names.
fn check_vault_name(name: &str) -> Result<(), String> {
    let well_formed = (2..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err("use 2 to 50 letters, digits, '-' or '_', as AWS Backup requires".into())
    }
}

fn check_region(region: &str) -> Result<(), String> {
    Region::parse(region).map(|_| ()).map_err(|e| e.to_string())
}

/// A customer-managed key's alias: the AWS managed keys (alias/aws/…) cannot be shared with
/// the DR region or governed by a key policy of one's own.
fn check_kms_alias(alias: &str) -> Result<(), String> {
    let Some(name) = alias.strip_prefix("alias/") else {
        return Err("write a KMS key alias, alias/<name>".into());
    };
    if name.starts_with("aws/") {
        return Err("an AWS managed key; vaults need a customer-managed key".into());
    }
    let well_formed = !name.is_empty()
        && name.len() <= 250
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b));
    if well_formed {
        Ok(())
    } else {
        Err("an alias name has letters, digits, '/', '_' and '-'".into())
    }
}

/// An IAM role name, optionally behind a path: service-role/AWSBackupDefaultServiceRole.
fn check_role_name(name: &str) -> Result<(), String> {
    let segments: Vec<&str> = name.split('/').collect();
    let well_formed = segments.last().is_some_and(|role| role.len() <= 64)
        && segments.iter().all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        });
    if well_formed {
        Ok(())
    } else {
        Err("not an IAM role name (with an optional path, as in \
             service-role/AWSBackupDefaultServiceRole)"
            .into())
    }
}

/// A role name that may end in `*` (the roles of a stack: `bulwark-*`).
fn check_role_pattern(name: &str) -> Result<(), String> {
    check_role_name(name.strip_suffix('*').unwrap_or(name))
        .map_err(|e| format!("{e}; a trailing * stands for the rest of the name"))
}

/// AWS Backup takes six-field cron expressions wrapped in `cron(...)`, with `?` in
/// day-of-month or day-of-week.
fn check_cron(expression: &str) -> Result<(), &'static str> {
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or("write it as AWS does: cron(minutes hours day-of-month month day-of-week year)")?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err("AWS cron has six fields: minutes hours day-of-month month day-of-week year");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "*?/,-#".contains(c);
    if !fields.iter().all(|f| f.chars().all(allowed)) {
        return Err("a field holds a character AWS cron does not allow");
    }
    if fields[2] != "?" && fields[4] != "?" {
        return Err("AWS cron needs '?' in day-of-month or day-of-week");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_default_loads_with_the_taxonomy_of_design_md() {
        let config = Config::builtin();
        let names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["critical", "important", "standard", "archival"]);
        let d = |s: &str| Duration::parse(s).expect("duration");
        for (name, rpo, rto, frequency, retention, copy) in [
            ("critical", "1h", "1h", "4h", "7y", true),
            ("important", "4h", "4h", "12h", "3y", true),
            ("standard", "24h", "24h", "24h", "1y", false),
            ("archival", "168h", "72h", "168h", "10y", false),
        ] {
            let tier = config.tier(name).expect("tier");
            assert_eq!(tier.rpo, d(rpo), "{name}");
            assert_eq!(tier.rto, d(rto), "{name}");
            assert_eq!(tier.frequency, d(frequency), "{name}");
            assert_eq!(tier.retention, d(retention), "{name}");
            assert_eq!(tier.cross_region_copy, copy, "{name}");
        }
        let critical = config.tier("critical").expect("critical");
        assert!(critical.continuous_backup);
        assert_eq!(critical.frequency_without_continuous, Some(d("1h")));
        assert_eq!(config.catch_all().then, Outcome::Tier("standard".into()));
    }

    #[test]
    fn the_builtin_rules_follow_the_default_precedence() {
        let config = Config::builtin();
        let names: Vec<&str> = config.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "reproducible",
                "backup-not-required",
                "explicit-tier",
                "explicit-tier-number",
                "data-class",
                "environment",
                "name-critical",
                "name-important",
                "name-archival",
                "name-reproducible",
                "name-log",
            ]
        );
    }

    const TIER: &str =
        "[tiers.gold]\nrpo = \"4h\"\nrto = \"4h\"\nfrequency = \"4h\"\nretention = \"1y\"\n";
    const RULE: &str = "[[rules]]\nname = \"default\"\nthen = \"gold\"\n";

    fn refused(text: &str) -> ConfigError {
        Config::from_toml_str("bad.toml", text).expect_err("refused")
    }

    #[track_caller]
    fn assert_refused(text: &str, line: usize, reason: &str) {
        let err = refused(text);
        assert_eq!(err.line, line, "{err}\n---\n{text}");
        assert!(err.message.contains(reason), "{err}\n---\n{text}");
        assert!(
            err.to_string().starts_with(&format!("bad.toml:{line}: ")),
            "{err}"
        );
    }

    #[test]
    fn a_minimal_file_loads_with_the_documented_defaults() {
        let config = Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}")).expect("valid");
        let gold = config.tier("gold").expect("gold");
        assert_eq!(gold.start_window, Duration::from_hours(1));
        assert_eq!(gold.completion_window, Duration::from_days(1));
        assert!(!gold.continuous_backup && !gold.cross_region_copy);
        assert_eq!(
            (gold.lock, gold.cold_storage_after, gold.cron.as_deref()),
            (None, None, None)
        );
        assert!(config.rules().is_empty());
    }

    #[test]
    fn a_toml_syntax_error_names_its_line() {
        assert_refused(&format!("{TIER}{RULE}[tiers.silver\n"), 9, "unclosed table");
    }

    #[test]
    fn unknown_keys_are_refused_where_they_stand() {
        let text = format!("{TIER}schedule = \"4h\"\n{RULE}");
        assert_refused(&text, 6, "unknown field `schedule`");
        let text = format!("{TIER}{RULE}when = \"always\"\n");
        assert_refused(&text, 9, "unknown field `when`");
        let text = format!("taxonomy = 1\n{TIER}{RULE}");
        assert_refused(&text, 1, "unknown field `taxonomy`");
        let text =
            format!("{TIER}lock = {{ min_retention = \"1d\", mode_ = \"governance\" }}\n{RULE}");
        assert_refused(&text, 6, "unknown field `mode_`");
    }

    #[test]
    fn bad_values_are_refused_where_they_stand() {
        let text = TIER.replace("frequency = \"4h\"", "frequency = \"4 hours\"");
        assert_refused(&format!("{text}{RULE}"), 4, "invalid duration \"4 hours\"");
        let text = TIER.replace("rto = \"4h\"", "rto = 4");
        assert_refused(&format!("{text}{RULE}"), 3, "invalid type: integer `4`");
        let text = format!("{TIER}{RULE}")
            .replace("then = \"gold\"", "then = \"gold\"\nkinds = [\"redshift\"]");
        assert_refused(&text, 9, "unknown variant `redshift`");
        let text = format!("{TIER}lock = {{ mode = \"strict\", min_retention = \"1d\" }}\n{RULE}");
        assert_refused(&text, 6, "unknown variant `strict`");
        let text = TIER.replace("rpo = \"4h\"\n", "");
        assert_refused(&format!("{text}{RULE}"), 1, "missing field `rpo`");
    }

    #[test]
    fn an_empty_tier_list_or_rule_list_is_refused() {
        assert_refused(RULE, 1, "no tiers");
        assert_refused("tiers = {}\n", 1, "no tiers");
        assert_refused(TIER, 1, "no rules");
    }

    #[test]
    fn a_rule_naming_an_unknown_tier_is_refused() {
        let text = format!("{TIER}{}", RULE.replace("\"gold\"", "\"platinum\""));
        assert_refused(&text, 8, "\"platinum\" is not a tier (gold)");
        let text = format!(
            "{TIER}[[rules]]\nname = \"env\"\ntag_keys = [\"Env\"]\n\
             tag_values = {{ prod = \"gold\", dev = \"silver\" }}\n{RULE}"
        );
        assert_refused(&text, 9, "rule \"env\": \"silver\" is not a tier");
    }

    #[test]
    fn duplicate_rule_names_are_refused() {
        let text = format!(
            "{TIER}[[rules]]\nname = \"default\"\nname_words = [\"prod\"]\nthen = \"gold\"\n{RULE}"
        );
        assert_refused(
            &text,
            11,
            "duplicate rule name \"default\" (first at line 7)",
        );
    }

    #[test]
    fn the_rules_must_end_in_exactly_one_catch_all() {
        let text =
            format!("{TIER}[[rules]]\nname = \"prod\"\nname_words = [\"prod\"]\nthen = \"gold\"\n");
        assert_refused(&text, 7, "the last rule \"prod\" must match every asset");
        let text = format!(
            "{TIER}{RULE}[[rules]]\nname = \"later\"\nname_words = [\"prod\"]\nthen = \"gold\"\n"
        );
        assert_refused(
            &text,
            10,
            "rule \"later\" can never match: rule \"default\"",
        );
        let text = format!("{TIER}[[rules]]\nname = \"ebs\"\nkinds = [\"ebs\"]\nthen = \"gold\"\n");
        assert_refused(&text, 7, "the last rule \"ebs\" must match every asset");
    }

    #[test]
    fn malformed_rules_are_refused_with_the_reason() {
        let rule = |body: &str| format!("{TIER}[[rules]]\nname = \"r\"\n{body}\n{RULE}");
        for (body, line, reason) in [
            ("name_words = [\"prod\"]", 7, "needs `then`"),
            (
                "tag_keys = [\"Env\"]\nthen = \"gold\"",
                9,
                "`then` is for name and catch-all rules",
            ),
            ("tag_keys = [\"Env\"]", 8, "tag_keys needs tag_values"),
            (
                "tag_values = { prod = \"gold\" }\nthen = \"gold\"",
                8,
                "tag_values needs tag_keys",
            ),
            (
                "tag_keys = []\ntag_values = { prod = \"gold\" }",
                8,
                "tag_keys is empty",
            ),
            (
                "tag_keys = [\"Env\"]\ntag_values = {}",
                9,
                "tag_values is empty",
            ),
            (
                "tag_keys = [\"Env\", \" env\"]\ntag_values = { a = \"gold\" }",
                8,
                "\" env\" is listed twice",
            ),
            (
                "tag_keys = [\"Env\"]\ntag_values = { Prod = \"gold\", prod = \"gold\" }",
                9,
                "listed twice",
            ),
            (
                "name_words = [\"orders-db\"]\nthen = \"gold\"",
                8,
                "is not a single word",
            ),
            (
                "name_contains = [\" \"]\nthen = \"gold\"",
                8,
                "entry \" \" is empty",
            ),
            (
                "name_words = [\"prod\"]\nname_contains = [\"x\"]\nthen = \"gold\"",
                7,
                "one matcher per rule",
            ),
            (
                "name_words = [\"prod\"]\nthen = \"next\"",
                9,
                "\"next\" decides nothing",
            ),
            (
                "kinds = []\nthen = \"gold\"",
                8,
                "kinds = [] matches nothing",
            ),
        ] {
            let text = rule(body);
            let err = refused(&text);
            assert_eq!(err.line, line, "{body}: {err}");
            assert!(err.message.contains(reason), "{body}: {err}");
            assert!(err.message.starts_with("rule \"r\": "), "{body}: {err}");
        }
        assert_refused(
            &format!("{TIER}[[rules]]\nname = \" \"\nthen = \"gold\"\n"),
            7,
            "non-empty name",
        );
    }

    #[test]
    fn tiers_aws_backup_would_reject_are_refused_with_the_reason() {
        let tier = |extra: &str| format!("{TIER}{extra}\n{RULE}");
        for (extra, reason) in [
            ("cold_storage_after = \"300d\"", "leaves 65d in cold storage before the retention of 1y deletes it; AWS Backup requires at least 90d"),
            ("cold_storage_after = \"2y\"", "leaves 0m in cold storage"),
            ("cold_storage_after = \"36h\"", "cold_storage_after 36h must be a whole number of days"),
            ("lock = { min_retention = \"2y\" }", "lock min_retention 2y exceeds the tier's retention 1y"),
            ("lock = { min_retention = \"1d\", max_retention = \"30d\" }", "lock max_retention 30d is shorter than the tier's retention 1y"),
            ("lock = { min_retention = \"12h\" }", "must be a whole number of days from 1d to 100y"),
            ("continuous_backup = true\nlock = { min_retention = \"90d\" }", "longest AWS Backup keeps continuous backups"),
            ("frequency_without_continuous = \"1h\"", "applies only with continuous_backup = true"),
            ("start_window = \"30m\"", "start_window 30m is shorter than 1h"),
            ("start_window = \"8h\"\ncompletion_window = \"8h\"", "completion_window 8h must be longer than start_window 8h"),
            ("start_window = \"2d\"", "completion_window 1d must be longer than start_window 2d"),
            ("cron = \"0 5 * * ? *\"", "write it as AWS does"),
            ("cron = \"cron(0 5 * * *)\"", "six fields"),
            ("cron = \"cron(0 5 * * * *)\"", "'?' in day-of-month or day-of-week"),
            ("cron = \"cron(0 5 ? * * $)\"", "does not allow"),
        ] {
            let text = tier(extra);
            let err = refused(&text);
            let line = 6 + extra.lines().count() - 1;
            assert_eq!(err.line, line, "{extra}: {err}");
            assert!(err.message.contains(reason), "{extra}: {err}");
            assert!(err.message.starts_with("tier \"gold\": "), "{extra}: {err}");
        }
        for (field, value, line, reason) in [
            (
                "frequency",
                "30m",
                4,
                "frequency 30m is shorter than 1h, the most frequent schedule AWS Backup accepts",
            ),
            (
                "retention",
                "36h",
                5,
                "retention 36h must be a whole number of days",
            ),
            ("rpo", "0m", 2, "rpo must be longer than 0m"),
        ] {
            let text = TIER
                .replace(
                    &format!("{field} = \"4h\""),
                    &format!("{field} = \"{value}\""),
                )
                .replace(
                    "retention = \"1y\"",
                    if field == "retention" {
                        "retention = \"36h\""
                    } else {
                        "retention = \"1y\""
                    },
                );
            assert_refused(&format!("{text}{RULE}"), line, reason);
        }
    }

    #[test]
    fn tier_names_must_suit_aws_and_not_shadow_outcomes() {
        let text = format!(
            "{}{RULE}",
            TIER.replace("[tiers.gold]", "[tiers.\"gold tier\"]")
        );
        assert_refused(&text, 1, "tier name \"gold tier\"");
        let text = format!(
            "{}{RULE}",
            TIER.replace("[tiers.gold]", "[tiers.reproducible]")
        );
        assert_refused(&text, 1, "tier name \"reproducible\" is reserved");
    }

    #[test]
    fn tiers_keep_the_order_of_the_file() {
        let text = format!("{}{TIER}{RULE}", TIER.replace("gold", "zinc"));
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        let names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["zinc", "gold"]);
    }

    #[test]
    fn protection_settings_default_when_the_section_is_left_out() {
        let config = Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}")).expect("valid");
        assert_eq!(config.protection(), &ProtectionSettings::default());
        assert_eq!(
            Config::builtin().protection(),
            &ProtectionSettings::default()
        );
        assert!(Config::builtin().warnings().is_empty());
    }

    #[test]
    fn protection_settings_are_read_from_their_section() {
        let text = format!(
            "[protection]\nvault_name = \"vault_1\"\ndr_region = \"eu-central-1\"\n\
             kms_key_alias = \"alias/team/backup\"\nbackup_role_name = \"Backup\"\n\
             admin_role_names = [\"ops/Admin\", \"Breakglass\"]\n{TIER}{RULE}"
        );
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        let p = config.protection();
        assert_eq!(
            (
                p.vault_name.as_str(),
                p.dr_region.as_str(),
                p.kms_key_alias.as_str()
            ),
            ("vault_1", "eu-central-1", "alias/team/backup")
        );
        assert_eq!(p.backup_role_arn("aws", "1"), "arn:aws:iam::1:role/Backup");
        assert_eq!(
            p.admin_role_arns("aws", "1"),
            [
                "arn:aws:iam::1:role/ops/Admin",
                "arn:aws:iam::1:role/Breakglass"
            ]
        );
        assert!(!p.allow_compliance_lock);
    }

    #[test]
    fn bad_protection_settings_are_refused_where_they_stand() {
        for (setting, reason) in [
            (
                "vault_name = \"a\"",
                "vault_name \"a\": use 2 to 50 letters",
            ),
            ("vault_name = \"my vault\"", "use 2 to 50 letters"),
            ("dr_region = \"west\"", "dr_region \"west\""),
            ("kms_key_alias = \"bulwark\"", "write a KMS key alias"),
            (
                "kms_key_alias = \"alias/aws/backup\"",
                "customer-managed key",
            ),
            ("backup_role_name = \"/x\"", "not an IAM role name"),
            ("admin_role_names = []", "admin_role_names is empty"),
            (
                "admin_role_names = [\"A\", \"A\"]",
                "entry \"A\": is listed twice",
            ),
            ("admin_role_names = [\"a b\"]", "not an IAM role name"),
            ("vault = \"x\"", "unknown field `vault`"),
        ] {
            let text = format!("{TIER}{RULE}[protection]\n{setting}\n");
            let err = refused(&text);
            assert_eq!(err.line, 10, "{setting}: {err}");
            assert!(err.message.contains(reason), "{setting}: {err}");
        }
    }

    #[test]
    fn a_cross_region_copy_needs_a_dr_region() {
        let text = format!("{TIER}cross_region_copy = true\n{RULE}");
        assert_refused(
            &text,
            6,
            "tier \"gold\" copies to the DR region, but [protection] names no dr_region",
        );
        let text = format!("[protection]\ndr_region = \"eu-west-1\"\n{text}");
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        assert_eq!(config.protection().dr_region, "eu-west-1");
    }

    #[test]
    fn alerting_is_a_tier_setting() {
        let text = format!(
            "{TIER}alert = true\n[tiers.silver]\nrpo = \"1d\"\nrto = \"1d\"\n\
                            frequency = \"1d\"\nretention = \"30d\"\n{RULE}"
        );
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        assert_eq!(config.alerting_tiers(), vec!["gold"]);
        assert!(Config::builtin()
            .tiers()
            .iter()
            .all(|t| t.alert == (t.name == "critical")));
    }

    #[test]
    fn dr_region_pairs_are_read_and_a_region_is_never_its_own() {
        let text = format!(
            "[protection]\ndr_region = \"us-west-2\"\n[protection.dr_regions]\n\
             \"eu-west-1\" = \"eu-central-1\"\n{TIER}cross_region_copy = true\n{RULE}"
        );
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        let p = config.protection();
        assert_eq!(p.dr_region_for("eu-west-1").as_deref(), Ok("eu-central-1"));
        assert_eq!(p.dr_region_for("us-east-1").as_deref(), Ok("us-west-2"));
        // dr_region's own region falls back to its default pair
        assert_eq!(p.dr_region_for("us-west-2").as_deref(), Ok("us-east-1"));
        // Pairs alone say where copies go
        let pairs = format!(
            "[protection.dr_regions]\n\"us-east-1\" = \"us-east-2\"\n\
             {TIER}cross_region_copy = true\n{RULE}"
        );
        assert!(Config::from_toml_str("ok.toml", &pairs).is_ok());
        assert_refused(
            &format!("[protection.dr_regions]\n\"eu-west-1\" = \"eu-west-1\"\n{TIER}{RULE}"),
            2,
            "[protection.dr_regions] \"eu-west-1\" is its own DR region",
        );
        assert_refused(
            &format!("[protection.dr_regions]\n\"eu-west-1\" = \"west\"\n{TIER}{RULE}"),
            2,
            "[protection.dr_regions] \"west\"",
        );
    }

    #[test]
    fn a_compliance_lock_must_be_allowed_and_is_then_warned_about() {
        let lock = "lock = {\n  mode = \"compliance\",\n  min_retention = \"7d\" }\n";
        let text = format!("{TIER}{lock}{RULE}");
        assert_refused(
            &text,
            7,
            "tier \"gold\": a compliance lock cannot be undone",
        );
        assert!(refused(&text)
            .message
            .contains("allow_compliance_lock = true"));
        let text = format!("[protection]\nallow_compliance_lock = true\n{TIER}{lock}{RULE}");
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "ok.toml:9: warning: tier \"gold\": a compliance lock cannot be undone, by \
              anyone, AWS included, once its 3-day grace period passes"
            ]
        );
        let governance = format!("{TIER}{}{RULE}", lock.replace("compliance", "governance"));
        let config = Config::from_toml_str("ok.toml", &governance).expect("valid");
        assert!(config.warnings().is_empty());
    }

    const SILVER: &str = "[tiers.silver]\nrpo = \"1d\"\nrto = \"1d\"\nfrequency = \"1d\"\n";

    #[test]
    fn a_vault_lock_must_admit_every_tier_that_shares_the_vault() {
        let gold_locked =
            format!("{TIER}lock = {{ min_retention = \"60d\", max_retention = \"2y\" }}\n");
        for (silver, line, reason) in [
            (
                "retention = \"30d\"\n",
                11,
                "tier \"silver\": its recovery points are kept 30d, less than the min_retention \
                 60d of the primary vault's lock (asked by tier \"gold\")",
            ),
            (
                "retention = \"5y\"\n",
                11,
                "tier \"silver\": its recovery points are kept 5y, more than the max_retention \
                 2y of the primary vault's lock (asked by tier \"gold\")",
            ),
            (
                "continuous_backup = true\nretention = \"1y\"\n",
                12,
                "tier \"silver\": its continuous backups are kept 5w, less than the \
                 min_retention 60d",
            ),
        ] {
            assert_refused(
                &format!("{gold_locked}{SILVER}{silver}{RULE}"),
                line,
                reason,
            );
        }
        // Only the tiers that copy share the DR vault.
        let text = format!(
            "[protection]\ndr_region = \"us-west-2\"\n{gold_locked}cross_region_copy = true\n\
             {SILVER}retention = \"1y\"\ncross_region_copy = true\n{RULE}"
        );
        assert!(Config::from_toml_str("ok.toml", &text).is_ok());
    }

    #[test]
    fn a_tier_lock_the_shared_vault_loosens_is_warned_about() {
        let text = format!(
            "{TIER}lock = {{ min_retention = \"60d\" }}\n{SILVER}retention = \"1y\"\n\
             lock = {{ min_retention = \"7d\" }}\n{RULE}"
        );
        let config = Config::from_toml_str("ok.toml", &text).expect("valid");
        let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(
            warnings[0].starts_with(
                "ok.toml:5: warning: tier \"gold\" asks a lock min_retention of 60d, but the \
                 primary vault"
            ),
            "{warnings:#?}"
        );
    }

    #[test]
    fn an_unreadable_file_names_the_file() {
        let err = Config::load(Path::new("/nonexistent/bulwark.toml")).expect_err("missing");
        assert_eq!(err.line, 0);
        assert!(
            err.to_string()
                .starts_with("/nonexistent/bulwark.toml: cannot read"),
            "{err}"
        );
    }
}
