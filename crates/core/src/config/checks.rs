//! What AWS accepts, checked at load time: the length of tier names, objectives, schedules,
//! windows, lifecycles, vault locks (each tier's and the one its vault shares), and the names
//! of vaults, regions, keys and roles.

use std::ops::Range;

use toml::Spanned;

use super::load::{LoadedTier, Loader};
use super::raw::{RawLock, RawNoncurrentVersions, RawTier};
use super::{ConfigError, ConfigWarning};
use crate::arn::{partition_of, Region};
use crate::duration::Duration;
use crate::schedule::aws_cron_fields;
use crate::taxonomy::{
    shared_lock, Lock, LockMode, NoncurrentTransition, NoncurrentVersions,
    CONTINUOUS_RETENTION_MAX, COPY_ALLOWANCE, INFREQUENT_ACCESS_MIN_DAYS, LONGEST_GROUP_NAME,
    MIN_COLD_STORAGE_STAY, MIN_FREQUENCY, MIN_START_WINDOW, NAME_PREFIX,
    NONCURRENT_STORAGE_CLASSES,
};

const DEFAULT_START_WINDOW: Duration = Duration::from_hours(1);
const DEFAULT_COMPLETION_WINDOW: Duration = Duration::from_days(1);
/// AWS Backup's limit on retention, vault locks included.
const MAX_RETENTION: Duration = Duration::from_days(36_500);
/// AWS Backup allows 50 characters in plan and selection names, and the longest is
/// "bulwark-<tier>-dynamodb-efsebs-assets".
pub(super) const MAX_TIER_NAME: usize =
    50 - NAME_PREFIX.len() - 1 - LONGEST_GROUP_NAME - "-assets".len();

impl Loader<'_> {
    /// Each vault has one lock for every tier whose recovery points it holds (the primary
    /// vault: every tier; the DR vault: the tiers that copy). It must admit every one of
    /// them, or AWS Backup fails their jobs. A tier whose own lock the shared one loosens is
    /// warned about.
    pub(super) fn check_vault_locks(
        &self,
        tiers: &[LoadedTier],
    ) -> Result<Vec<ConfigWarning>, ConfigError> {
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
}

/// What is wrong with a tier, and where.
pub(super) type Problem = (Range<usize>, String);

pub(super) fn check_objectives(raw: &RawTier) -> Result<(), Problem> {
    for (field, value) in [("rpo", &raw.rpo), ("rto", &raw.rto)] {
        if *value.get_ref() == Duration::ZERO {
            return Err((value.span(), format!("{field} must be longer than 0m")));
        }
    }
    Ok(())
}

pub(super) fn check_schedule(raw: &RawTier) -> Result<(), Problem> {
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
        aws_cron_fields(cron.get_ref())
            .map_err(|reason| (cron.span(), format!("cron {:?}: {reason}", cron.get_ref())))?;
    }
    Ok(())
}

/// The start and completion windows, defaulted; `tier` locates problems with defaults.
pub(super) fn windows(raw: &RawTier, tier: Range<usize>) -> Result<(Duration, Duration), Problem> {
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

/// A tier's `dr_rpo`: only with a cross-region copy, and no less than the hourly copy plus the
/// hour a backup and its copy may take.
pub(super) fn check_dr_rpo(
    dr_rpo: Option<&Spanned<Duration>>,
    cross_region_copy: bool,
) -> Result<Option<Duration>, Problem> {
    let Some(dr_rpo) = dr_rpo else {
        return Ok(None);
    };
    let least = Duration::from_minutes(MIN_FREQUENCY.as_minutes() + COPY_ALLOWANCE.as_minutes());
    if !cross_region_copy {
        return Err((
            dr_rpo.span(),
            "dr_rpo needs cross_region_copy = true: it is what a failover from the DR region's \
             copies may lose"
                .into(),
        ));
    }
    if *dr_rpo.get_ref() < least {
        return Err((
            dr_rpo.span(),
            format!(
                "dr_rpo {} is less than {least}: copies run at most hourly, and a backup and \
                 its copy may take {COPY_ALLOWANCE}",
                dr_rpo.get_ref()
            ),
        ));
    }
    Ok(Some(*dr_rpo.get_ref()))
}

/// A tier's `noncurrent_versions`: whole days; a storage class S3 moves noncurrent versions to,
/// GLACIER when none is named; the infrequent-access classes no sooner than S3 allows; expiry
/// after the transition, as S3 requires.
pub(super) fn noncurrent_of(
    raw: Spanned<RawNoncurrentVersions>,
) -> Result<NoncurrentVersions, Problem> {
    let span = raw.span();
    let raw = raw.into_inner();
    let days = |field: &str, value: &Spanned<Duration>| -> Result<u32, Problem> {
        check_days(field, value, MAX_RETENTION)?;
        let whole = value.get_ref().whole_days().unwrap_or_default();
        Ok(u32::try_from(whole).unwrap_or(u32::MAX))
    };
    let transition_after = raw
        .transition_after
        .as_ref()
        .map(|t| days("noncurrent_versions transition_after", t))
        .transpose()?;
    let expire_after = raw
        .expire_after
        .as_ref()
        .map(|e| days("noncurrent_versions expire_after", e))
        .transpose()?;
    let transition = match (transition_after, raw.storage_class) {
        (None, Some(class)) => {
            return Err((
                class.span(),
                "noncurrent_versions storage_class needs transition_after".into(),
            ))
        }
        (None, None) => None,
        (Some(after_days), class) => {
            let (storage_class, class_span) = match class {
                Some(class) => (class.get_ref().clone(), class.span()),
                None => ("GLACIER".to_string(), span.clone()),
            };
            if !NONCURRENT_STORAGE_CLASSES.contains(&storage_class.as_str()) {
                return Err((
                    class_span,
                    format!(
                        "noncurrent_versions storage_class {storage_class:?} is not one S3 moves \
                         noncurrent versions to: {}",
                        NONCURRENT_STORAGE_CLASSES.join(", ")
                    ),
                ));
            }
            if storage_class.ends_with("_IA") && after_days < INFREQUENT_ACCESS_MIN_DAYS {
                return Err((
                    class_span,
                    format!(
                        "noncurrent_versions: S3 moves a noncurrent version to {storage_class} \
                         only once it has been noncurrent for {INFREQUENT_ACCESS_MIN_DAYS} days; \
                         transition_after is {after_days}d"
                    ),
                ));
            }
            Some(NoncurrentTransition {
                after_days,
                storage_class,
            })
        }
    };
    if let (Some(transition), Some(expire), Some(raw_expire)) =
        (&transition, expire_after, raw.expire_after.as_ref())
    {
        if expire <= transition.after_days {
            return Err((
                raw_expire.span(),
                format!(
                    "noncurrent_versions expire_after {expire}d must be later than \
                     transition_after {}d, as S3 requires",
                    transition.after_days
                ),
            ));
        }
    }
    if transition.is_none() && expire_after.is_none() {
        return Err((
            span,
            "noncurrent_versions needs transition_after, expire_after or both".into(),
        ));
    }
    Ok(NoncurrentVersions {
        transition,
        expire_after_days: expire_after,
    })
}

pub(super) fn check_lifecycle(raw: &RawTier) -> Result<(), Problem> {
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
pub(super) fn lock_of(
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
pub(super) fn check_vault_name(name: &str) -> Result<(), String> {
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

pub(super) fn check_region(region: &str) -> Result<(), String> {
    Region::parse(region).map(|_| ()).map_err(|e| e.to_string())
}

/// A customer-managed key's alias: the AWS managed keys (alias/aws/…) cannot be shared with
/// the DR region or governed by a key policy of one's own.
pub(super) fn check_kms_alias(alias: &str) -> Result<(), String> {
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
pub(super) fn check_role_name(name: &str) -> Result<(), String> {
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
pub(super) fn check_role_pattern(name: &str) -> Result<(), String> {
    check_role_name(name.strip_suffix('*').unwrap_or(name))
        .map_err(|e| format!("{e}; a trailing * stands for the rest of the name"))
}

/// An RDS DB subnet group's name, as the RDS API reference allows it (CreateDBSubnetGroup).
pub(super) fn check_db_subnet_group(name: &str) -> Result<(), String> {
    let well_formed = (1..=255).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" ._-".contains(&b));
    if well_formed {
        Ok(())
    } else {
        Err(
            "use 1 to 255 letters, digits, spaces, '.', '_' or '-', starting with a letter, \
             as RDS requires"
                .into(),
        )
    }
}

/// An availability zone of `region`: the region's name and a zone letter (`us-west-2a`), or a
/// Local Zone's longer name (`us-west-2-lax-1a`).
pub(super) fn check_availability_zone(zone: &str, region: &str) -> Result<(), String> {
    let rest = zone.strip_prefix(region).unwrap_or_default();
    let well_formed = zone.starts_with(region)
        && rest.ends_with(|c: char| c.is_ascii_lowercase())
        && (rest.len() == 1
            || rest.starts_with('-')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "not an availability zone of {region}: the region's name and a zone letter, as in \
             {region}a"
        ))
    }
}

/// An RDS option group's or DB (cluster) parameter group's name: 1 to 255 letters, digits
/// and hyphens, starting with a letter, neither ending with a hyphen nor holding two in a row
/// (RDS's rule for both; a default group's name, `default.<family>`, also has dots).
pub(super) fn check_db_group_name(name: &str) -> Result<(), String> {
    let well_formed = (1..=255).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if well_formed {
        Ok(())
    } else {
        Err(
            "use 1 to 255 letters, digits and hyphens, starting with a letter, with no two \
             hyphens in a row and none at the end, as RDS requires"
                .into(),
        )
    }
}

/// A VPC security group's id: sg- and 8 (older) or 17 lowercase hex digits.
pub(super) fn check_security_group(id: &str) -> Result<(), String> {
    let well_formed = id.strip_prefix("sg-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if well_formed {
        Ok(())
    } else {
        Err("not a security group id: sg- and 8 or 17 lowercase hex digits".into())
    }
}

/// A customer-managed KMS key for restores in `region`: its key ARN, which must be in that
/// region (a restore cannot encrypt with another region's key), or an alias, which names a key
/// of whichever region the restore runs in.
pub(super) fn check_kms_key(key: &str, region: &str) -> Result<(), String> {
    if key.starts_with("alias/aws/") {
        return Err(
            "an AWS managed key: name a customer-managed one, or leave kms_key out to \
                    restore with the recovery point's own key"
                .into(),
        );
    }
    if key.starts_with("alias/") {
        return check_kms_alias(key);
    }
    let written_as = "write a key ARN (arn:<partition>:kms:<region>:<account>:key/<id>) or an \
                      alias (alias/<name>)";
    let parts: Vec<&str> = key.split(':').collect();
    let [arn, partition, "kms", key_region, account, resource] = parts[..] else {
        return Err(written_as.into());
    };
    let id = resource.strip_prefix("key/");
    if arn != "arn" || crate::arn::AccountId::parse(account).is_err() || id.is_none() {
        return Err(written_as.into());
    }
    if key_region != region {
        return Err(format!(
            "the key is in {key_region:?}: a restore in {region} needs a key of {region}"
        ));
    }
    if partition != partition_of(region) {
        return Err(format!(
            "partition {partition:?}: {region} is in {:?}",
            partition_of(region)
        ));
    }
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let id = id.unwrap_or_default();
    let uuid = id.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && hex(&id.replace('-', ""), 32);
    let multi_region = id.strip_prefix("mrk-").is_some_and(|rest| hex(rest, 32));
    if uuid || multi_region {
        Ok(())
    } else {
        Err(format!(
            "key id {id:?}: a key id is a UUID, or mrk- and 32 hex digits for a multi-Region key"
        ))
    }
}

/// A DB instance class for the temporary instance of an Aurora restore: db.<family>.<size>
/// (db.r6g.large, db.t3.medium), or db.serverless for Aurora Serverless v2.
pub(super) fn check_instance_class(class: &str) -> Result<(), String> {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let well_formed = class == "db.serverless"
        || class
            .strip_prefix("db.")
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(family, size)| part(family) && part(size));
    if well_formed {
        Ok(())
    } else {
        Err(
            "not a DB instance class: db.<family>.<size>, as in db.r6g.large, or \
             db.serverless"
                .into(),
        )
    }
}
