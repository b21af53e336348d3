//! What restore tests need from the file: each tier's `restore_test` table, defaulted, and the
//! `[restore_prerequisites."<region>"]` tables that say what a restore in a region needs where
//! the account's defaults do not fit.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::Spanned;

use super::checks::{
    check_availability_zone, check_db_group_name, check_db_subnet_group, check_instance_class,
    check_kms_key, check_region, check_security_group, Problem,
};
use super::load::Loader;
use super::raw::{RawPointChoice, RawPrerequisites, RawRestoreTest};
use super::ConfigError;
use crate::hook_function::HookFunction;
use crate::restore::Usd;
use crate::taxonomy::{PointChoice, RestoreTestPolicy as Policy};

/// What a restore into one region needs that the account's defaults may not give: the
/// `[restore_prerequisites."<region>"]` table. Restore tests and failover both read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestorePrerequisites {
    /// The DB subnet group RDS and Aurora restores go into. None: the restore's default.
    pub db_subnet_group: Option<String>,
    /// The VPC security groups of a restored database. Empty: the VPC's default group.
    pub security_groups: Vec<String>,
    /// The KMS key restored copies are encrypted with: a key ARN in this region, or an alias.
    /// None: the restore's default, the recovery point's own key.
    pub kms_key: Option<String>,
    /// The class of the instance an Aurora restore adds to its restored cluster (a cluster
    /// restores without one, and cannot be read without one). None: the adapter's choice.
    pub instance_class: Option<String>,
    /// The availability zone a restored EBS volume is created in (and an RDS instance, when
    /// set). None: the region's first available zone for a volume; RDS's choice within the
    /// subnet group for a database.
    pub availability_zone: Option<String>,
    /// The option group of a restored RDS instance. None: the source's in its own region, the
    /// engine's default elsewhere (the source's does not exist there).
    pub option_group: Option<String>,
    /// The DB parameter group of a restored RDS instance; the same default.
    pub parameter_group: Option<String>,
    /// The DB cluster parameter group of a restored Aurora cluster; the same default.
    pub cluster_parameter_group: Option<String>,
}

/// A tier's restore-test policy: its `restore_test` table over the defaults of its name.
pub(super) fn restore_test_of(
    raw: Option<RawRestoreTest>,
    tier: &str,
    cross_region_copy: bool,
) -> Result<Policy, Problem> {
    let defaults = Policy::defaults(tier, cross_region_copy);
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let cadence = match raw.cadence {
        Some(c) if *c.get_ref() < Policy::MIN_CADENCE => {
            return Err((
                c.span(),
                format!(
                    "restore_test cadence {} is shorter than {}: a restore and its validation \
                     take longer than that",
                    c.get_ref(),
                    Policy::MIN_CADENCE
                ),
            ))
        }
        Some(c) => *c.get_ref(),
        None => defaults.cadence,
    };
    let within_runs = match raw.within_runs {
        None => defaults.within_runs,
        Some(n) => u32::try_from(*n.get_ref())
            .ok()
            .filter(|n| (1..=Policy::MAX_WITHIN_RUNS).contains(n))
            .ok_or_else(|| {
                (
                    n.span(),
                    format!(
                        "restore_test within_runs {} must be from 1 (every due store, every \
                         run) to {}",
                        n.get_ref(),
                        Policy::MAX_WITHIN_RUNS
                    ),
                )
            })?,
    };
    let random = raw
        .recovery_point
        .as_ref()
        .is_some_and(|p| *p.get_ref() == RawPointChoice::Random);
    let recovery_point = match raw.random_within {
        Some(w) if !random => {
            return Err((
                w.span(),
                "restore_test random_within applies only with recovery_point = \"random\"".into(),
            ))
        }
        Some(w) if *w.get_ref() < Policy::MIN_RANDOM_WITHIN => {
            return Err((
                w.span(),
                format!(
                    "restore_test random_within {} is shorter than {}, the most frequent \
                     backup schedule: the window would often hold no recovery point",
                    w.get_ref(),
                    Policy::MIN_RANDOM_WITHIN
                ),
            ))
        }
        Some(w) => PointChoice::Random {
            within: *w.get_ref(),
        },
        None if random => PointChoice::Random {
            within: Policy::DEFAULT_RANDOM_WITHIN,
        },
        None => PointChoice::Latest,
    };
    let dr_copy = match raw.dr_copy {
        Some(d) if *d.get_ref() && !cross_region_copy => {
            return Err((
                d.span(),
                "restore_test dr_copy = true, but the tier has no cross_region_copy: there is \
                 no DR copy to test"
                    .into(),
            ))
        }
        Some(d) => *d.get_ref(),
        None => defaults.dr_copy,
    };
    let validation_window = match raw.validation_window {
        Some(w)
            if !(Policy::MIN_VALIDATION_WINDOW..=Policy::MAX_VALIDATION_WINDOW)
                .contains(w.get_ref()) =>
        {
            return Err((
                w.span(),
                format!(
                    "restore_test validation_window {} must be from {} to {}",
                    w.get_ref(),
                    Policy::MIN_VALIDATION_WINDOW,
                    Policy::MAX_VALIDATION_WINDOW
                ),
            ))
        }
        Some(w) => *w.get_ref(),
        None => defaults.validation_window,
    };
    let restore_deadline = match raw.restore_deadline {
        Some(d)
            if !(Policy::MIN_RESTORE_DEADLINE..=Policy::MAX_RESTORE_DEADLINE)
                .contains(d.get_ref()) =>
        {
            return Err((
                d.span(),
                format!(
                    "restore_test restore_deadline {} must be from {} to {}",
                    d.get_ref(),
                    Policy::MIN_RESTORE_DEADLINE,
                    Policy::MAX_RESTORE_DEADLINE
                ),
            ))
        }
        Some(d) => *d.get_ref(),
        None => defaults.restore_deadline,
    };
    let hook = raw
        .hook
        .map(|h| {
            HookFunction::parse(h.get_ref().trim())
                .map_err(|why| (h.span(), format!("restore_test hook: {why}")))
        })
        .transpose()?;
    let instance_class = raw
        .instance_class
        .map(|c| {
            check_instance_class(c.get_ref())
                .map(|()| c.get_ref().clone())
                .map_err(|why| {
                    (
                        c.span(),
                        format!("restore_test instance_class {:?}: {why}", c.get_ref()),
                    )
                })
        })
        .transpose()?;
    let monthly_budget = raw
        .monthly_budget
        .map(|b| {
            Usd::from_dollars(*b.get_ref())
                .map_err(|why| (b.span(), format!("restore_test monthly_budget: {why}")))
        })
        .transpose()?;
    Ok(Policy {
        enabled: raw.enabled.unwrap_or(defaults.enabled),
        cadence,
        within_runs,
        recovery_point,
        dr_copy,
        validation_window,
        restore_deadline,
        monthly_budget,
        hook,
        instance_class,
    })
}

impl Loader<'_> {
    /// The `[restore_prerequisites."<region>"]` tables, by region, each value checked.
    pub(super) fn restore_prerequisites(
        &self,
        raw: BTreeMap<Spanned<String>, RawPrerequisites>,
    ) -> Result<BTreeMap<String, RestorePrerequisites>, ConfigError> {
        // In file order, so that the first problem reported is the first in the file.
        let mut raw: Vec<_> = raw.into_iter().collect();
        raw.sort_by_key(|(region, _)| region.span().start);
        let mut tables = BTreeMap::new();
        for (region, table) in raw {
            let at = |(span, why): Problem| {
                self.error(
                    span,
                    format!("[restore_prerequisites.{:?}] {why}", region.get_ref()),
                )
            };
            check_region(region.get_ref()).map_err(|why| at((region.span(), why)))?;
            let prerequisites = prerequisites_of(table, region.get_ref()).map_err(at)?;
            tables.insert(region.into_inner(), prerequisites);
        }
        Ok(tables)
    }
}

fn prerequisites_of(raw: RawPrerequisites, region: &str) -> Result<RestorePrerequisites, Problem> {
    let checked = |value: Option<Spanned<String>>,
                   field: &str,
                   check: &dyn Fn(&str) -> Result<(), String>| {
        value
            .map(|v| match check(v.get_ref()) {
                Ok(()) => Ok(v.into_inner()),
                Err(why) => Err((v.span(), format!("{field} {:?}: {why}", v.get_ref()))),
            })
            .transpose()
    };
    let db_subnet_group = checked(
        raw.db_subnet_group,
        "db_subnet_group",
        &check_db_subnet_group,
    )?;
    let kms_key = checked(raw.kms_key, "kms_key", &|key| check_kms_key(key, region))?;
    let instance_class = checked(raw.instance_class, "instance_class", &check_instance_class)?;
    let availability_zone = checked(raw.availability_zone, "availability_zone", &|zone| {
        check_availability_zone(zone, region)
    })?;
    let option_group = checked(raw.option_group, "option_group", &check_db_group_name)?;
    let parameter_group = checked(raw.parameter_group, "parameter_group", &check_db_group_name)?;
    let cluster_parameter_group = checked(
        raw.cluster_parameter_group,
        "cluster_parameter_group",
        &check_db_group_name,
    )?;
    let mut security_groups: Vec<String> = Vec::new();
    if let Some(list) = raw.security_groups {
        if list.get_ref().is_empty() {
            return Err((
                list.span(),
                "security_groups is empty: leave it out to use the VPC's default security \
                 group"
                    .into(),
            ));
        }
        for id in list.into_inner() {
            let problem = check_security_group(id.get_ref()).err().or_else(|| {
                security_groups
                    .contains(id.get_ref())
                    .then(|| "is listed twice".to_string())
            });
            if let Some(why) = problem {
                return Err((
                    id.span(),
                    format!("security_groups entry {:?}: {why}", id.get_ref()),
                ));
            }
            security_groups.push(id.into_inner());
        }
    }
    Ok(RestorePrerequisites {
        db_subnet_group,
        security_groups,
        kms_key,
        instance_class,
        availability_zone,
        option_group,
        parameter_group,
        cluster_parameter_group,
    })
}
