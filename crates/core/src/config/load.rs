//! Loading: from the raw file to a validated [`Config`], each error and warning naming its
//! line. The tiers and the `[protection]` section are read here; the rules in `rules`, the
//! checks of what AWS accepts in `checks`, what restore tests need in `restore`, the
//! applications in `applications`.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::checks::{
    check_dr_rpo, check_kms_alias, check_lifecycle, check_objectives, check_region,
    check_role_name, check_role_pattern, check_schedule, check_vault_name, lock_of, noncurrent_of,
    windows, Problem, MAX_TIER_NAME,
};
use super::raw::{RawConfig, RawProtection, RawTier};
use super::restore::restore_test_of;
use super::rules::RESERVED_OUTCOMES;
use super::{Config, ConfigError, ConfigWarning, ProtectionSettings};
use crate::taxonomy::{LockMode, Tier, COMPLIANCE_GRACE_DAYS};

/// A tier as loaded, with where the loader may need to point later.
pub(super) struct LoadedTier {
    pub(super) tier: Tier,
    pub(super) retention: Range<usize>,
    pub(super) copy: Option<Range<usize>>,
    /// Where it states `central_retention`.
    pub(super) central: Option<Range<usize>>,
    pub(super) compliance_lock: Option<Range<usize>>,
}

pub(super) struct Loader<'a> {
    pub(super) source_name: &'a str,
    pub(super) text: &'a str,
}

impl Loader<'_> {
    pub(super) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn error_at_line(&self, line: usize, message: String) -> ConfigError {
        ConfigError {
            source_name: self.source_name.to_string(),
            line,
            message,
        }
    }

    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        self.error_at_line(self.line(span.start), message.into())
    }

    pub(super) fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
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
        let central_backup = self.central_backup(raw.central_backup, &protection.vault_name)?;
        let organization_policies = self.organization_policies(raw.organization_policies)?;
        if let Some((tier, span)) = loaded
            .iter()
            .find_map(|t| t.central.clone().map(|span| (&t.tier.name, span)))
            .filter(|_| central_backup.is_none())
        {
            return Err(self.error(
                span,
                format!(
                    "tier {tier:?} keeps copies in the central backup account, but there is no \
                     [central_backup] section: say which account, organization and region"
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
        let restore_prerequisites = self.restore_prerequisites(raw.restore_prerequisites)?;
        let applications = self.applications(raw.applications, &protection)?;
        let restore_test_prices = self.restore_test_prices(raw.restore_test_prices)?;
        let backup_storage_prices = self.backup_storage_prices(raw.backup_storage_prices)?;
        Ok(Config {
            tiers,
            rules,
            catch_all,
            protection,
            restore_prerequisites,
            applications,
            restore_test_prices,
            backup_storage_prices,
            central_backup,
            organization_policies,
            warnings,
        })
    }

    pub(super) fn warning(&self, span: Range<usize>, message: String) -> ConfigWarning {
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
            restore_role_name: text(
                raw.restore_role_name,
                defaults.restore_role_name,
                check_role_name,
                "restore_role_name",
            )?,
            replication_role_name: text(
                raw.replication_role_name,
                defaults.replication_role_name,
                check_role_name,
                "replication_role_name",
            )?,
            admin_role_names,
            maintainer_role_names,
            allow_compliance_lock: raw.allow_compliance_lock,
            rds_apply_immediately: raw.rds_apply_immediately,
            versioning_from_config: raw.versioning_from_config,
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
        let cross_region_copy = raw.cross_region_copy.as_ref().is_some_and(|c| *c.get_ref());
        let dr_rpo = check_dr_rpo(raw.dr_rpo.as_ref(), cross_region_copy).map_err(located)?;
        let restore_test =
            restore_test_of(raw.restore_test, &name, cross_region_copy).map_err(located)?;
        let noncurrent_versions = raw
            .noncurrent_versions
            .map(noncurrent_of)
            .transpose()
            .map_err(located)?;
        let central_retention = match &raw.central_retention {
            Some(keep) if keep.get_ref().whole_days().is_none_or(|d| d == 0) => {
                return Err(located((
                    keep.span(),
                    format!(
                        "central_retention {} is not a whole number of days: AWS Backup keeps \
                         copies for whole days",
                        keep.get_ref()
                    ),
                )))
            }
            keep => keep.as_ref().map(|k| *k.get_ref()),
        };
        let s3_replication =
            match &raw.s3_replication {
                Some(wanted) if *wanted.get_ref() && !cross_region_copy => return Err(located((
                    wanted.span(),
                    "s3_replication = true needs cross_region_copy = true: the replica goes to \
                     the tier's DR region"
                        .to_string(),
                ))),
                wanted => wanted.as_ref().is_some_and(|w| *w.get_ref()),
            };
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
            cross_region_copy,
            dr_rpo,
            continuous_backup: raw.continuous_backup,
            lock,
            alert: raw.alert,
            restore_test,
            noncurrent_versions,
            central_retention,
            s3_replication,
            name,
        };
        Ok(LoadedTier {
            tier,
            retention: raw.retention.span(),
            copy: raw
                .cross_region_copy
                .filter(|c| *c.get_ref())
                .map(|c| c.span()),
            central: raw.central_retention.as_ref().map(Spanned::span),
            compliance_lock,
        })
    }
}
