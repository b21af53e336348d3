//! The plan: for each store the copy a failover would restore, what it would lose and what
//! blocks it; for each switch where it points now and where it would point.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::hash::hash_of;
use super::model::{
    Blocker, CopyFacts, ExpectedRto, FailoverFacts, Plan, PlanHash, RoleCheck, Serving, StoreFacts,
    StorePlan, SwitchPlan, Warning,
};
use crate::application::{AppName, Application, Attribute, Placeholder, StoreSelector, Switch};
use crate::arn::{Region, ResourceArn};
use crate::config::RestorePrerequisites;
use crate::duration::Duration;
use crate::facts::is_continuous;
use crate::kind::Kind;
use crate::protection::TIER_TAG;
use crate::restore::{
    temporary_instance_class, DEFAULT_AURORA_INSTANCE_CLASS, EXPIRES_TAG, FAILOVER_TAG,
    RESTORE_TEST_TAG,
};

/// The prefix of every store a failover restores. Not the restore tests' (`bulwark-rt-`): the
/// sweeper deletes those, and must never touch these.
pub const NAME_PREFIX: &str = "bulwark-fo-";
/// The hex digits of the restored name's id: 48 bits, so that two stores of an account (or
/// two buckets anywhere, whose names are global) do not meet.
const ID_HEX: usize = 12;
/// The shortest name limit of the kinds: an S3 bucket's and an RDS identifier's 63.
const MAX_NAME: usize = 63;
/// Where a database restores when the region's prerequisites name no subnet group.
pub const DEFAULT_DB_SUBNET_GROUP: &str = "default";

/// The failover plan of `app` over `facts`, with the DR region's restore prerequisites.
pub fn plan(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
) -> Plan {
    plan_accepting(app, prerequisites, facts, None)
}

/// The same, with the engineer accepting up to `accepted` of data loss: a copy that old or
/// younger is taken even past the application's or tier's limit (an incident's choice, on the
/// record: it is in the plan and its hash).
pub fn plan_accepting(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
    accepted: Option<Duration>,
) -> Plan {
    plan_choosing(app, prerequisites, facts, accepted, false)
}

/// The same, taking each store's newest copy when `newest_point` (`--point newest`), else
/// its newest verified copy (one a restore test restored and passed) if that one is within the
/// data the failover may lose, else its newest.
pub fn plan_choosing(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
    accepted: Option<Duration>,
    newest_point: bool,
) -> Plan {
    plan_with(app, prerequisites, facts, accepted, None, newest_point)
}

/// The application recovered in place: the same stores and switches, its "DR region" its
/// primary region, where its own vault's points are.
pub fn in_place(app: &Application) -> Application {
    Application {
        dr_region: app.primary_region.clone(),
        // An alarm starts a failover, never a recovery in place.
        automatic_failover: None,
        ..app.clone()
    }
}

/// `app` narrowed to its store `arn` (`recover --arn`): that store alone, and only the
/// switches whose values name it and no other store (a switch naming none, or another store
/// too, is the application's, not this store's). A store the application does not select
/// leaves its plan without stores, which blocks it.
pub fn one_store(
    app: &Application,
    arn: &ResourceArn,
    tags: &BTreeMap<String, String>,
) -> Application {
    let selected = app.stores.selects(arn, tags);
    let switches = app
        .switches
        .iter()
        .filter(|switch| {
            let named: Vec<&Placeholder> = switch.value.placeholders().collect();
            !named.is_empty() && named.iter().all(|p| p.store == arn.id)
        })
        .cloned()
        .collect();
    Application {
        stores: StoreSelector::Arns(if selected {
            vec![arn.clone()]
        } else {
            Vec::new()
        }),
        switches,
        ..app.clone()
    }
}

/// The plan of a recovery in place of `app` (as `in_place` turned it, its facts read from its
/// own region's vault) to before `before`: each store restored from its newest point taken
/// before then. The data it loses is by choice (from that point to `before`): no RPO blocks it.
pub fn plan_recovering(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
    before: DateTime<Utc>,
) -> Plan {
    let mut facts = facts.clone();
    for store in &mut facts.stores {
        store.copies.retain(|c| c.created < before);
    }
    // The engineer chose the time: the newest point before it, verified or not.
    plan_with(app, prerequisites, &facts, None, Some(before), true)
}

fn plan_with(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
    accepted: Option<Duration>,
    recover_before: Option<DateTime<Utc>>,
    newest_point: bool,
) -> Plan {
    let listed = |arn: &ResourceArn| match &app.stores {
        StoreSelector::Arns(arns) => arns.contains(arn),
        StoreSelector::Tag { .. } => true,
    };
    // A store deleted from the primary region stays in the plan, from its last copy: a
    // deleted table is the classic reason to recover. One selected by its tags that has no
    // copy left (decommissioned long ago) leaves the plan, said in a warning; one listed by
    // ARN stays, blocked.
    let mut gone_without_copy = Vec::new();
    let kept = |store: &&StoreFacts| {
        let tag_selected = matches!(app.stores, StoreSelector::Tag { .. });
        match store.gone_at {
            Some(gone_at)
                if tag_selected && newest_copy(&store.copies, &app.dr_region).is_none() =>
            {
                Err(Warning::GoneWithoutCopy {
                    store: store.arn.to_string(),
                    gone_at,
                })
            }
            _ => Ok(()),
        }
    };
    // By ARN text: the order people read, and one plan per store if the facts repeat one.
    let mut found: BTreeMap<String, &StoreFacts> = BTreeMap::new();
    for store in facts.stores.iter().filter(|s| listed(&s.arn)) {
        match kept(&store) {
            Ok(()) => {
                found.entry(store.arn.to_string()).or_insert(store);
            }
            Err(warning) => gone_without_copy.push(warning),
        }
    }
    let mut stores: Vec<(String, StorePlan)> = found
        .iter()
        .map(|(text, store)| {
            let plan = store_plan(
                app,
                prerequisites,
                facts,
                store,
                accepted,
                recover_before,
                newest_point,
            );
            (text.clone(), plan)
        })
        .collect();
    if let StoreSelector::Arns(arns) = &app.stores {
        for arn in arns.iter().filter(|a| !found.contains_key(&a.to_string())) {
            stores.push((arn.to_string(), not_found(app, prerequisites, arn)));
        }
        stores.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let stores: Vec<StorePlan> = stores.into_iter().map(|(_, plan)| plan).collect();
    let switches: Vec<SwitchPlan> = app
        .switches
        .iter()
        .map(|switch| switch_plan(switch, &stores, &app.dr_region, facts))
        .collect();
    let blockers = if stores.is_empty() {
        vec![Blocker::NoStores]
    } else {
        Vec::new()
    };
    let blockers_count = blockers.len()
        + stores.iter().map(|s| s.blockers.len()).sum::<usize>()
        + switches.iter().map(|s| s.blockers.len()).sum::<usize>();
    let mut warnings = gone_without_copy;
    if let RoleCheck::Unchecked(error) = &facts.dr_region.restore_role {
        warnings.push(Warning::RoleUnchecked {
            error: error.clone(),
        });
    }
    for switch in &switches {
        if let Some(plane) = &switch.control_plane {
            warnings.push(Warning::NeedsControlPlane {
                switch: switch.target.to_string(),
                plane: plane.clone(),
            });
        }
    }
    let mut plan = Plan {
        application: app.name.to_string(),
        primary_region: app.primary_region.clone(),
        dr_region: app.dr_region.clone(),
        planned_at: facts.now,
        stores,
        switches,
        blockers,
        blockers_count,
        accepted_data_loss: accepted,
        // A recovery in place always takes the newest point before its time.
        newest_point: newest_point && recover_before.is_none(),
        recover_before,
        warnings,
        ready: blockers_count == 0,
        hash: PlanHash(String::new()),
    };
    plan.hash = hash_of(&plan);
    plan
}

fn store_plan(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    facts: &FailoverFacts,
    store: &StoreFacts,
    accepted: Option<Duration>,
    recover_before: Option<DateTime<Utc>>,
    newest_point: bool,
) -> StorePlan {
    let limit = app
        .max_data_loss
        .or(store.tier_rpo)
        .map(|limit| accepted.map_or(limit, |accepted| limit.max(accepted)));
    let until = recover_before.or(store.gone_at).unwrap_or(facts.now);
    let newest = newest_copy(&store.copies, &app.dr_region);
    // A failover prefers the newest copy a restore test proved, as long as it loses no more
    // than the limit; past it, or with none proved, the newest.
    let verified = store
        .copies
        .iter()
        .filter(|c| {
            c.completed
                && arn_region(&c.recovery_point_arn) == Some(app.dr_region.as_str())
                && store.verified_points.contains(&c.recovery_point_arn)
                && limit.is_none_or(|l| {
                    age_seconds(c.created, until) <= l.as_minutes().saturating_mul(60)
                })
        })
        .max_by(|a, b| (a.created, &a.recovery_point_arn).cmp(&(b.created, &b.recovery_point_arn)));
    let copy = match (newest_point, verified) {
        (false, Some(verified)) => Some(verified),
        _ => newest,
    }
    .cloned();
    let copy_verified = copy
        .as_ref()
        .is_some_and(|c| store.verified_points.contains(&c.recovery_point_arn));
    // A recovery from a continuous point restores to the time chosen, to the second (the
    // precision of AWS Backup's RestoreTime), or to where its window ends if that is earlier
    // (the newest state before the time chosen); a snapshot is what it is. The window runs in
    // whole seconds from its point's creation to its last backup, each rounded up.
    let restore_time = match (recover_before, &copy) {
        (Some(before), Some(copy)) if is_continuous(&copy.recovery_point_arn) => {
            let mut to = before.timestamp();
            if let Some(end) = store.latest_restorable {
                to = to.min(ceil_seconds(end));
            }
            let to = to.max(ceil_seconds(copy.created));
            Some(DateTime::<Utc>::from_timestamp(to, 0).unwrap_or(before))
        }
        _ => None,
    };
    // A deleted store lost what was written between its last copy and its deletion; nothing
    // was written to it since. A recovery loses what came between the state it restores and
    // the time chosen, by choice.
    let age = copy
        .as_ref()
        .map(|c| age_seconds(restore_time.unwrap_or(c.created), until));
    let mut blockers = Vec::new();
    match (&copy, age) {
        (Some(copy), Some(_)) if recover_before.is_some() => {
            if let Some(key) = copy
                .encryption_key_arn
                .as_ref()
                .filter(|key| !facts.dr_region.usable_keys.contains(*key))
            {
                blockers.push(Blocker::KeyNotUsable { key: key.clone() });
            }
        }
        (Some(copy), Some(age)) => {
            if let Some(limit) = limit.filter(|l| age > l.as_minutes().saturating_mul(60)) {
                blockers.push(Blocker::CopyTooOld {
                    age: minutes_up(age),
                    limit,
                });
            }
            if let Some(key) = copy
                .encryption_key_arn
                .as_ref()
                .filter(|key| !facts.dr_region.usable_keys.contains(*key))
            {
                blockers.push(Blocker::KeyNotUsable { key: key.clone() });
            }
        }
        _ => blockers.push(Blocker::NoCopy),
    }
    if let Some(group) = subnet_group(store.arn.kind, prerequisites)
        .filter(|group| !facts.dr_region.db_subnet_groups.contains(*group))
    {
        blockers.push(Blocker::SubnetGroupMissing {
            group: group.to_string(),
        });
    }
    if facts.dr_region.restore_role == RoleCheck::Missing {
        blockers.push(Blocker::RoleMissing);
    }
    let restored_name = restored_name(
        &app.name,
        &store.arn,
        copy.as_ref().map(|c| c.recovery_point_arn.as_str()),
    );
    let mut metadata = restore_metadata(store.arn.kind, &restored_name, prerequisites);
    if let Some(to) = restore_time {
        metadata.insert(
            "RestoreTime".to_string(),
            to.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    }
    StorePlan {
        arn: store.arn.clone(),
        tier: store.tier.clone(),
        copy,
        copy_verified,
        data_loss: age.map(minutes_up),
        expected_rto: store
            .last_restore_test_rto
            .map_or(ExpectedRto::Unknown, ExpectedRto::Measured),
        restored_arn: restored_arn(&store.arn, &app.dr_region, &restored_name),
        restore_metadata: metadata,
        restored_name,
        blockers,
        source_gone_at: store.gone_at,
        serving: serving(store, prerequisites),
        tags: carried_tags(store),
        live_replica: store
            .replication
            .as_ref()
            .and_then(|r| r.live_replica_in(app.dr_region.as_str())),
    }
}

/// The tags a restored store carries over from its source: not AWS's own (`aws:`, which no
/// one may write), nor Bulwark's marks of its own copies, nor its `Name` (a restored volume or
/// file system is named as restored); and its tier's.
fn carried_tags(store: &StoreFacts) -> BTreeMap<String, String> {
    let marks = [RESTORE_TEST_TAG, EXPIRES_TAG, FAILOVER_TAG, "Name"];
    let mut tags: BTreeMap<String, String> = store
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !marks.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(tier) = &store.tier {
        tags.insert(TIER_TAG.to_string(), tier.clone());
    }
    tags
}

/// What a restored Aurora cluster serves from (None for any other kind): decided here, so that
/// the plan and its hash say it, not read from the configuration when the run gets there.
fn serving(store: &StoreFacts, prerequisites: Option<&RestorePrerequisites>) -> Option<Serving> {
    if store.arn.kind != Kind::Aurora {
        return None;
    }
    let configured = prerequisites.and_then(|p| p.instance_class.as_deref());
    let engine = store.engine.as_deref().unwrap_or("aurora-postgresql");
    let instance_class = temporary_instance_class(engine, false, configured)
        .unwrap_or_else(|| DEFAULT_AURORA_INSTANCE_CLASS.to_string());
    Some(Serving {
        instance_class,
        instances: store.members.max(1),
        parameter_group: prerequisites.and_then(|p| p.parameter_group.clone()),
    })
}

/// A listed store the facts know nothing of.
fn not_found(
    app: &Application,
    prerequisites: Option<&RestorePrerequisites>,
    arn: &ResourceArn,
) -> StorePlan {
    let restored_name = restored_name(&app.name, arn, None);
    StorePlan {
        arn: arn.clone(),
        tier: None,
        copy: None,
        copy_verified: false,
        data_loss: None,
        expected_rto: ExpectedRto::Unknown,
        restored_arn: restored_arn(arn, &app.dr_region, &restored_name),
        restore_metadata: restore_metadata(arn.kind, &restored_name, prerequisites),
        restored_name,
        blockers: vec![Blocker::StoreNotFound],
        source_gone_at: None,
        serving: None,
        tags: BTreeMap::new(),
        live_replica: None,
    }
}

/// The newest completed copy in `region` (by creation, then ARN, so that ties decide the same
/// every time).
fn newest_copy<'c>(copies: &'c [CopyFacts], region: &Region) -> Option<&'c CopyFacts> {
    copies
        .iter()
        .filter(|c| c.completed && arn_region(&c.recovery_point_arn) == Some(region.as_str()))
        .max_by(|a, b| (a.created, &a.recovery_point_arn).cmp(&(b.created, &b.recovery_point_arn)))
}

/// The region field of an ARN: every kind's recovery points name theirs.
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// Whole seconds from `created` to `now`; a point dated after now (a skewed clock) is 0.
/// A time's whole seconds since the epoch, rounded up.
fn ceil_seconds(time: DateTime<Utc>) -> i64 {
    time.timestamp() + i64::from(time.timestamp_subsec_nanos() > 0)
}

fn age_seconds(created: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((now - created).num_seconds()).unwrap_or(0)
}

/// Seconds as a Duration, rounded up to the minute: a loss is never understated.
fn minutes_up(seconds: u64) -> Duration {
    Duration::from_minutes(seconds.div_ceil(60))
}

/// The DB subnet group a database of `kind` restores into; None for other kinds.
fn subnet_group(kind: Kind, prerequisites: Option<&RestorePrerequisites>) -> Option<&str> {
    matches!(kind, Kind::Rds | Kind::Aurora).then(|| {
        prerequisites
            .and_then(|p| p.db_subnet_group.as_deref())
            .unwrap_or(DEFAULT_DB_SUBNET_GROUP)
    })
}

/// The name a failover restores `store` under, from its `copy`: the prefix, the store's name as
/// far as it fits (lower-cased, each run of other characters one `-`), and an id from the
/// application, the store and the copy. Within every kind's limit (63 characters of
/// `[a-z0-9-]`, starting with a letter, no `--`, no `-` at the end); the same for the same
/// plan, so that a retried step finds what it restored, and another for a newer copy, so that a
/// later failover does not meet the stores an earlier one left.
pub fn restored_name(app: &AppName, store: &ResourceArn, copy: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app.as_str().as_bytes());
    hasher.update([0u8]);
    hasher.update(store.to_string().as_bytes());
    if let Some(copy) = copy {
        hasher.update([0u8]);
        hasher.update(copy.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    let id = &digest[..ID_HEX];
    let room = MAX_NAME - NAME_PREFIX.len() - 1 - ID_HEX;
    let mut stem = String::new();
    for c in store.id.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    stem.truncate(room);
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        format!("{NAME_PREFIX}{id}")
    } else {
        format!("{NAME_PREFIX}{stem}-{id}")
    }
}

/// The restored copy's ARN, for the kinds whose name is their id.
fn restored_arn(store: &ResourceArn, dr_region: &Region, name: &str) -> Option<ResourceArn> {
    match store.kind {
        Kind::S3 | Kind::Dynamodb | Kind::Rds | Kind::Aurora => {
            Some(store.in_region(dr_region, name))
        }
        Kind::Efs | Kind::Ebs => None,
    }
}

/// The restore metadata a failover sets over the recovery point's: a new store under the
/// restored name, and a database in the region's subnet group (the source's does not exist in
/// the DR region) with its security groups. Unlike a restore test's, nothing about deletion
/// protection or public access: the copy is to serve as the store did.
pub fn restore_metadata(
    kind: Kind,
    name: &str,
    prerequisites: Option<&RestorePrerequisites>,
) -> BTreeMap<String, String> {
    let pairs: Vec<(&str, &str)> = match kind {
        Kind::Dynamodb => vec![("targetTableName", name)],
        Kind::S3 => vec![("DestinationBucketName", name), ("NewBucket", "true")],
        Kind::Efs => vec![("newFileSystem", "true"), ("CreationToken", name)],
        Kind::Rds => vec![("DBInstanceIdentifier", name)],
        Kind::Aurora => vec![("DBClusterIdentifier", name)],
        Kind::Ebs => Vec::new(),
    };
    let mut metadata: BTreeMap<String, String> = pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(group) = subnet_group(kind, prerequisites) {
        metadata.insert("DBSubnetGroupName".into(), group.to_string());
        let groups = prerequisites.map_or(&[][..], |p| &p.security_groups[..]);
        if !groups.is_empty() {
            // A JSON array in a string, as AWS Backup takes list values.
            let groups = serde_json::Value::from(groups.to_vec());
            metadata.insert("VpcSecurityGroupIds".into(), groups.to_string());
        }
    }
    metadata
}

fn switch_plan(
    switch: &Switch,
    stores: &[StorePlan],
    dr_region: &Region,
    facts: &FailoverFacts,
) -> SwitchPlan {
    let mut blockers: Vec<Blocker> = Vec::new();
    let mut known_now = true;
    let new = switch.value.render(
        |placeholder| match resolve(placeholder, stores, dr_region) {
            Ok(Some(value)) => value,
            Ok(None) => {
                known_now = false;
                format!(
                    "<{}.{} after restore>",
                    placeholder.store, placeholder.attribute
                )
            }
            Err(blocker) => {
                known_now = false;
                if !blockers.contains(&blocker) {
                    blockers.push(blocker);
                }
                format!("<{}.{}: blocked>", placeholder.store, placeholder.attribute)
            }
        },
    );
    if let Some(error) = facts.unreadable_switches.get(&switch.target) {
        blockers.push(Blocker::SwitchUnreadable {
            error: error.clone(),
        });
    }
    if let Some(reason) = facts.unrestorable_switches.get(&switch.target) {
        blockers.push(Blocker::SwitchNotRestorable {
            reason: reason.clone(),
        });
    }
    SwitchPlan {
        control_plane: switch.target.control_plane().map(str::to_string),
        target: switch.target.clone(),
        ttl: switch.ttl,
        template: switch.value.clone(),
        current: facts
            .current_switch_values
            .get(&switch.target)
            .cloned()
            .flatten(),
        new,
        known_now,
        blockers,
    }
}

/// A placeholder's value as the plan knows it: Some when known before the restore, None when
/// only the restored store will tell.
fn resolve(
    placeholder: &Placeholder,
    stores: &[StorePlan],
    dr_region: &Region,
) -> Result<Option<String>, Blocker> {
    let reference = || placeholder.store.clone();
    let named: Vec<&StorePlan> = stores
        .iter()
        .filter(|s| s.arn.id == placeholder.store)
        .collect();
    let store = match named[..] {
        [store] => store,
        [] => {
            return Err(Blocker::UnknownStore {
                reference: reference(),
            })
        }
        _ => {
            return Err(Blocker::AmbiguousStore {
                reference: reference(),
            })
        }
    };
    if !placeholder.attribute.applies_to(store.arn.kind) {
        return Err(Blocker::NoSuchAttribute {
            reference: reference(),
            attribute: placeholder.attribute,
            kind: store.arn.kind,
        });
    }
    if placeholder.attribute == Attribute::Endpoint && store.arn.kind == Kind::Efs {
        return Err(Blocker::NoMountTargets {
            reference: reference(),
        });
    }
    Ok(match placeholder.attribute {
        Attribute::Region => Some(dr_region.to_string()),
        // A file system's or volume's id is AWS's to give: it has no ARN before it exists.
        Attribute::Name => store
            .restored_arn
            .as_ref()
            .map(|_| store.restored_name.clone()),
        Attribute::Arn => store.restored_arn.as_ref().map(ToString::to_string),
        Attribute::Endpoint | Attribute::ReaderEndpoint | Attribute::Port => None,
    })
}
