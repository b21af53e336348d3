//! The plan over facts written by hand; the fixtures `hash_tests` shares. Restored names' ids
//! were computed outside Rust (`printf 'payments\0<arn>[\0<copy>]' | sha256sum`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::application::{
    AppName, Application, Attribute, ParameterName, RecordName, RecordType, StoreSelector, Switch,
    SwitchTarget, ValueTemplate,
};
use crate::arn::{Region, ResourceArn};
use crate::config::RestorePrerequisites;
use crate::duration::Duration;
use crate::kind::Kind;

pub(super) const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
pub(super) const DB: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-db";
pub(super) const TABLE_COPY: &str = "arn:aws:backup:us-west-2:123456789012:recovery-point:rp-1";
pub(super) const DB_COPY: &str = "arn:aws:rds:us-west-2:123456789012:snapshot:awsbackup:job-1";
pub(super) const KEY_WEST: &str = "arn:aws:kms:us-west-2:123456789012:key/1111";
pub(super) const KEY_EAST: &str = "arn:aws:kms:us-east-1:123456789012:key/2222";
/// `bulwark-fo-` and the names' ids: sha256("payments\0<arn>\0<copy>")[..12].
pub(super) const TABLE_RESTORED: &str = "bulwark-fo-orders-f232869caf88";
pub(super) const DB_RESTORED: &str = "bulwark-fo-orders-db-2e62c50c3aff";

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("time")
}

pub(super) fn ago(minutes: i64) -> DateTime<Utc> {
    now() - TimeDelta::minutes(minutes)
}

pub(super) fn arn(text: &str) -> ResourceArn {
    ResourceArn::parse(text).expect("arn")
}

pub(super) fn dr() -> Region {
    Region::parse("us-west-2").expect("region")
}

pub(super) fn ssm(parameter: &str) -> SwitchTarget {
    SwitchTarget::Ssm {
        region: dr(),
        parameter: ParameterName::parse(parameter).expect("parameter"),
    }
}

pub(super) fn record() -> SwitchTarget {
    SwitchTarget::Route53 {
        zone_id: crate::application::HostedZoneId::parse("Z1").expect("zone"),
        name: RecordName::parse("db.payments.example.com").expect("name"),
        record_type: RecordType::Cname,
    }
}

pub(super) fn switch(target: SwitchTarget, value: &str) -> Switch {
    let ttl = matches!(target, SwitchTarget::Route53 { .. }).then_some(60);
    Switch {
        target,
        ttl,
        value: ValueTemplate::parse(value).expect("template"),
    }
}

pub(super) fn application(switches: Vec<Switch>) -> Application {
    Application {
        name: AppName::parse("payments").expect("name"),
        primary_region: Region::parse("us-east-1").expect("region"),
        dr_region: dr(),
        stores: StoreSelector::Tag {
            key: "Application".into(),
            value: "payments".into(),
        },
        max_data_loss: None,
        switches,
        automatic_failover: None,
    }
}

/// `app`'s plan over the fixtures' database alone: no blocker.
pub(super) fn plan_of_ready(app: &Application) -> Plan {
    let mut facts = facts();
    facts.stores.retain(|s| s.arn.kind == Kind::Rds);
    let plan = plan(app, None, &facts);
    assert!(plan.ready, "{plan:?}");
    plan
}

/// `app`'s plan with no store at all: blocked.
pub(super) fn plan_of_blocked(app: &Application) -> Plan {
    let none = FailoverFacts {
        stores: vec![],
        ..facts()
    };
    let plan = plan(app, None, &none);
    assert!(!plan.ready, "{plan:?}");
    plan
}

pub(super) fn copy(
    point: &str,
    created: DateTime<Utc>,
    completed: bool,
    key: Option<&str>,
) -> CopyFacts {
    CopyFacts {
        recovery_point_arn: point.to_string(),
        vault: "bulwark".into(),
        created,
        completed,
        encryption_key_arn: key.map(str::to_string),
    }
}

pub(super) fn store(text: &str, rpo_hours: u64, copies: Vec<CopyFacts>) -> StoreFacts {
    StoreFacts {
        arn: arn(text),
        tier: Some("critical".into()),
        tier_rpo: Some(Duration::from_hours(rpo_hours)),
        copies,
        last_restore_test_rto: None,
        gone_at: None,
        engine: None,
        members: 0,
        tags: BTreeMap::new(),
        latest_restorable: None,
        verified_points: BTreeSet::new(),
        replication: None,
    }
}

/// The database: its newest completed copy in us-west-2 is 50 minutes old (a newer one is not
/// completed, a newer completed one is in us-east-1). The table: one copy, 5 hours old, past
/// its 4-hour RPO, under a key us-west-2 cannot use.
pub(super) fn facts() -> FailoverFacts {
    let db = StoreFacts {
        last_restore_test_rto: Some(Duration::from_minutes(45)),
        ..store(
            DB,
            1,
            vec![
                copy(DB_COPY, ago(50), true, Some(KEY_WEST)),
                copy(&DB_COPY.replace("job-1", "job-2"), ago(10), false, None),
                copy(
                    "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-3",
                    ago(5),
                    true,
                    Some(KEY_EAST),
                ),
            ],
        )
    };
    let table = store(
        TABLE,
        4,
        vec![copy(TABLE_COPY, ago(300), true, Some(KEY_EAST))],
    );
    FailoverFacts {
        now: now(),
        stores: vec![db, table],
        dr_region: DrRegionFacts {
            usable_keys: BTreeSet::from([KEY_WEST.to_string()]),
            db_subnet_groups: BTreeSet::from(["default".to_string()]),
            restore_role: RoleCheck::Exists,
        },
        current_switch_values: BTreeMap::from([
            (
                record(),
                Some("orders-db.abc.us-east-1.rds.amazonaws.com".to_string()),
            ),
            (ssm("/payments/table"), Some("orders".to_string())),
        ]),
        unreadable_switches: BTreeMap::new(),
        unrestorable_switches: BTreeMap::new(),
    }
}

pub(super) fn switches() -> Vec<Switch> {
    vec![
        switch(record(), "{orders-db.endpoint}"),
        switch(ssm("/payments/table"), "{orders.name}"),
        switch(ssm("/payments/where"), "{orders.region}|{orders.arn}"),
    ]
}

#[test]
fn each_store_restores_its_newest_completed_copy_in_the_dr_region() {
    let plan = plan(&application(switches()), None, &facts());
    let table = StorePlan {
        arn: arn(TABLE),
        tier: Some("critical".into()),
        copy: Some(copy(TABLE_COPY, ago(300), true, Some(KEY_EAST))),
        copy_verified: false,
        data_loss: Some(Duration::from_hours(5)),
        expected_rto: ExpectedRto::Unknown,
        restored_name: TABLE_RESTORED.into(),
        restored_arn: Some(arn(&format!(
            "arn:aws:dynamodb:us-west-2:123456789012:table/{TABLE_RESTORED}"
        ))),
        restore_metadata: BTreeMap::from([("targetTableName".into(), TABLE_RESTORED.into())]),
        blockers: vec![
            Blocker::CopyTooOld {
                age: Duration::from_hours(5),
                limit: Duration::from_hours(4),
            },
            Blocker::KeyNotUsable {
                key: KEY_EAST.into(),
            },
        ],
        source_gone_at: None,
        serving: None,
        tags: BTreeMap::from([("bulwark:tier".into(), "critical".into())]),
        live_replica: None,
    };
    let db = StorePlan {
        arn: arn(DB),
        tier: Some("critical".into()),
        copy: Some(copy(DB_COPY, ago(50), true, Some(KEY_WEST))),
        copy_verified: false,
        data_loss: Some(Duration::from_minutes(50)),
        expected_rto: ExpectedRto::Measured(Duration::from_minutes(45)),
        restored_name: DB_RESTORED.into(),
        restored_arn: Some(arn(&format!(
            "arn:aws:rds:us-west-2:123456789012:db:{DB_RESTORED}"
        ))),
        restore_metadata: BTreeMap::from([
            ("DBInstanceIdentifier".into(), DB_RESTORED.into()),
            ("DBSubnetGroupName".into(), "default".into()),
        ]),
        blockers: vec![],
        source_gone_at: None,
        serving: None,
        tags: BTreeMap::from([("bulwark:tier".into(), "critical".into())]),
        live_replica: None,
    };
    // By ARN: dynamodb before rds.
    assert_eq!(plan.stores, [table, db]);
    assert_eq!(plan.application, "payments");
    assert_eq!(plan.planned_at, now());
    assert_eq!((plan.blockers_count, plan.ready), (2, false));
    assert!(plan.blockers.is_empty());
}

#[test]
fn switches_show_their_current_and_new_values() {
    let plan = plan(&application(switches()), None, &facts());
    let shown: Vec<(Option<&str>, &str, bool)> = plan
        .switches
        .iter()
        .map(|s| (s.current.as_deref(), s.new.as_str(), s.known_now))
        .collect();
    assert_eq!(
        shown,
        [
            (
                Some("orders-db.abc.us-east-1.rds.amazonaws.com"),
                "<orders-db.endpoint after restore>",
                false
            ),
            (Some("orders"), TABLE_RESTORED, true),
            (
                None,
                "us-west-2|arn:aws:dynamodb:us-west-2:123456789012:table/bulwark-fo-orders-f232869caf88",
                true
            ),
        ]
    );
    assert_eq!(plan.switches[0].target, record());
    assert_eq!(plan.switches[0].ttl, Some(60));
    assert_eq!(
        plan.switches[0].template.to_string(),
        "{orders-db.endpoint}"
    );
    assert!(plan.switches.iter().all(|s| s.blockers.is_empty()));
}

#[test]
fn a_placeholder_must_name_one_store_by_an_attribute_it_has() {
    let mut facts = facts();
    // A bucket of the same name as the table, and a file system.
    facts.stores.push(store("arn:aws:s3:::orders", 4, vec![]));
    facts.stores.push(store(
        "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123abcd",
        4,
        vec![],
    ));
    let app = application(vec![
        switch(ssm("/a"), "{ledger.name}"),
        switch(ssm("/b"), "{orders.name}"),
        switch(
            ssm("/c"),
            "{orders-db.reader_endpoint} {orders-db.reader_endpoint}",
        ),
        switch(ssm("/d"), "{fs-0123abcd.name}:{fs-0123abcd.endpoint}"),
    ]);
    let plan = plan(&app, None, &facts);
    let shown: Vec<(&str, &[Blocker], bool)> = plan
        .switches
        .iter()
        .map(|s| (s.new.as_str(), &s.blockers[..], s.known_now))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "<ledger.name: blocked>",
                &[Blocker::UnknownStore {
                    reference: "ledger".into()
                }][..],
                false
            ),
            (
                "<orders.name: blocked>",
                &[Blocker::AmbiguousStore {
                    reference: "orders".into()
                }][..],
                false
            ),
            (
                "<orders-db.reader_endpoint: blocked> <orders-db.reader_endpoint: blocked>",
                &[Blocker::NoSuchAttribute {
                    reference: "orders-db".into(),
                    attribute: Attribute::ReaderEndpoint,
                    kind: Kind::Rds,
                }][..],
                false
            ),
            // A file system's id is AWS's to give: known only after the restore.
            (
                "<fs-0123abcd.name after restore>:<fs-0123abcd.endpoint: blocked>",
                &[Blocker::NoMountTargets {
                    reference: "fs-0123abcd".into()
                }][..],
                false
            ),
        ]
    );
    let efs = plan
        .stores
        .iter()
        .find(|s| s.arn.kind == Kind::Efs)
        .expect("efs");
    assert_eq!(efs.restored_arn, None);
    assert_eq!(efs.blockers, [Blocker::NoCopy]);
}

#[test]
fn a_database_needs_its_subnet_group_and_every_store_the_role() {
    let mut facts = facts();
    facts.dr_region.restore_role = RoleCheck::Missing;
    let prerequisites = RestorePrerequisites {
        db_subnet_group: Some("restore-net".into()),
        security_groups: vec!["sg-12345678".into()],
        ..RestorePrerequisites::default()
    };
    let plan = plan(&application(vec![]), Some(&prerequisites), &facts);
    let db = &plan.stores[1];
    assert_eq!(
        db.blockers,
        [
            Blocker::SubnetGroupMissing {
                group: "restore-net".into()
            },
            Blocker::RoleMissing
        ]
    );
    assert_eq!(
        db.restore_metadata,
        BTreeMap::from([
            ("DBInstanceIdentifier".into(), DB_RESTORED.into()),
            ("DBSubnetGroupName".into(), "restore-net".into()),
            ("VpcSecurityGroupIds".into(), r#"["sg-12345678"]"#.into()),
        ])
    );
    assert_eq!(plan.stores[0].blockers.last(), Some(&Blocker::RoleMissing));
    // Without a configured group, a database restores into "default", which must exist.
    facts.dr_region.db_subnet_groups.clear();
    let plan = super::plan(&application(vec![]), None, &facts);
    assert!(plan.stores[1]
        .blockers
        .contains(&Blocker::SubnetGroupMissing {
            group: "default".into()
        }));
    assert!(!plan.stores[0]
        .blockers
        .iter()
        .any(|b| matches!(b, Blocker::SubnetGroupMissing { .. })));
}

#[test]
fn the_applications_data_loss_limit_wins_over_the_tiers() {
    let facts = facts();
    let too_old = |max: Option<Duration>| -> Vec<(String, Duration)> {
        let app = Application {
            max_data_loss: max,
            ..application(vec![])
        };
        plan(&app, None, &facts)
            .stores
            .iter()
            .flat_map(|s| {
                s.blockers.iter().filter_map(|b| match b {
                    Blocker::CopyTooOld { limit, .. } => Some((s.arn.id.clone(), *limit)),
                    _ => None,
                })
            })
            .collect()
    };
    assert_eq!(too_old(None), [("orders".into(), Duration::from_hours(4))]);
    assert_eq!(too_old(Some(Duration::from_hours(6))), []);
    // A copy exactly as old as the limit is within it.
    assert_eq!(too_old(Some(Duration::from_hours(5))), []);
    assert_eq!(
        too_old(Some(Duration::from_minutes(49))),
        [
            ("orders".into(), Duration::from_minutes(49)),
            ("orders-db".into(), Duration::from_minutes(49)),
        ]
    );
    let mut untiered = facts.clone();
    untiered.stores.iter_mut().for_each(|s| s.tier_rpo = None);
    assert!(plan(&application(vec![]), None, &untiered).stores[0]
        .blockers
        .iter()
        .all(|b| !matches!(b, Blocker::CopyTooOld { .. })));
}

#[test]
fn listed_stores_are_planned_whether_found_or_not() {
    let app = Application {
        stores: StoreSelector::Arns(vec![
            arn(DB),
            arn("arn:aws:rds:us-east-1:123456789012:cluster:ledger"),
        ]),
        ..application(vec![])
    };
    let plan = plan(&app, None, &facts());
    let planned: Vec<(String, &[Blocker])> = plan
        .stores
        .iter()
        .map(|s| (s.arn.to_string(), &s.blockers[..]))
        .collect();
    // The table is not listed: not the application's. The cluster is listed but unknown.
    assert_eq!(
        planned,
        [
            (
                "arn:aws:rds:us-east-1:123456789012:cluster:ledger".to_string(),
                &[Blocker::StoreNotFound][..]
            ),
            (DB.to_string(), &[][..]),
        ]
    );
    let none = FailoverFacts {
        stores: vec![],
        ..facts()
    };
    let empty = super::plan(&application(vec![]), None, &none);
    assert_eq!(
        (&empty.blockers[..], empty.blockers_count, empty.ready),
        (&[Blocker::NoStores][..], 1, false)
    );
}

#[test]
fn a_plan_without_blockers_is_ready() {
    let mut facts = facts();
    facts.stores.retain(|s| s.arn.kind == Kind::Rds);
    let plan = plan(
        &application(vec![switch(record(), "{orders-db.endpoint}")]),
        None,
        &facts,
    );
    assert_eq!((plan.blockers_count, plan.ready), (0, true));
}

#[test]
fn restored_names_are_stable_and_fit_every_kind() {
    let name = |table: &str| {
        restored_name(
            &AppName::parse("payments").expect("name"),
            &arn(&format!(
                "arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
            )),
            None,
        )
    };
    // Without a copy (a store not found): sha256("payments\0<arn>")[..12]
    assert_eq!(name("orders"), "bulwark-fo-orders-927a90a617ef");
    assert_eq!(
        name("Orders_Archive.2024--v2_"),
        "bulwark-fo-orders-archive-2024-v2-d8e4eeb49994"
    );
    assert_eq!(name("___"), "bulwark-fo-bf34a78ada17");
    assert_eq!(
        name("customer-order-history-and-everything-else-2024"),
        "bulwark-fo-customer-order-history-and-everything-e-cb1fe7d1cff5"
    );
    // A cut that would end on a hyphen drops it.
    assert_eq!(
        name(&format!("{}-bcd", "a".repeat(38))),
        format!("bulwark-fo-{}-50c8c34e8eba", "a".repeat(38))
    );
    let other_app = restored_name(&AppName::parse("ledger").expect("name"), &arn(TABLE), None);
    assert_ne!(other_app, name("orders"));
    // The plan's copy is in the name: a newer copy restores under another
    let payments = AppName::parse("payments").expect("name");
    assert_eq!(
        restored_name(&payments, &arn(TABLE), Some(TABLE_COPY)),
        TABLE_RESTORED
    );
    assert_ne!(
        restored_name(&payments, &arn(TABLE), Some("rp-2")),
        TABLE_RESTORED
    );
}

#[test]
fn the_restore_metadata_names_the_copy_by_kind() {
    let prerequisites = RestorePrerequisites {
        security_groups: vec!["sg-12345678".into(), "sg-0123456789abcdef0".into()],
        ..RestorePrerequisites::default()
    };
    let metadata = |kind| {
        restore_metadata(kind, "n", Some(&prerequisites))
            .into_iter()
            .collect::<Vec<_>>()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        metadata(Kind::Aurora),
        pairs(&[
            ("DBClusterIdentifier", "n"),
            ("DBSubnetGroupName", "default"),
            (
                "VpcSecurityGroupIds",
                r#"["sg-12345678","sg-0123456789abcdef0"]"#
            ),
        ])
    );
    assert_eq!(
        metadata(Kind::S3),
        pairs(&[("DestinationBucketName", "n"), ("NewBucket", "true")])
    );
    assert_eq!(
        metadata(Kind::Efs),
        pairs(&[("CreationToken", "n"), ("newFileSystem", "true")])
    );
    assert_eq!(metadata(Kind::Ebs), []);
}

proptest! {
    #[test]
    fn restored_names_keep_every_kinds_rules(id in "[A-Za-z0-9_.-]{1,255}") {
        let name = restored_name(
            &AppName::parse("payments").expect("name"),
            &arn(&format!("arn:aws:dynamodb:us-east-1:123456789012:table/{id}")),
            Some("arn:aws:backup:us-west-2:123456789012:recovery-point:rp-1"),
        );
        prop_assert!(name.len() <= 63, "{}", name);
        prop_assert!(name.starts_with(NAME_PREFIX));
        prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        prop_assert!(!name.contains("--") && !name.ends_with('-'), "{}", name);
    }
}

#[test]
fn an_engineer_accepting_more_data_loss_lifts_the_age_limit_on_the_record() {
    // Given the table's only copy, 5 hours old, past its tier's 4-hour limit
    let strict = plan(&application(Vec::new()), None, &facts());
    let too_old = |p: &Plan| {
        p.stores[0]
            .blockers
            .iter()
            .any(|b| matches!(b, Blocker::CopyTooOld { .. }))
    };
    assert!(too_old(&strict));

    // When the engineer accepts 6 hours, the copy is taken; 4h30m is still too little
    let accepted = plan_accepting(
        &application(Vec::new()),
        None,
        &facts(),
        Some(Duration::from_hours(6)),
    );
    let short = plan_accepting(
        &application(Vec::new()),
        None,
        &facts(),
        Some(Duration::from_minutes(270)),
    );

    // Then the acceptance is in the plan and its hash
    assert!(!too_old(&accepted));
    assert!(too_old(&short));
    assert_eq!(accepted.accepted_data_loss, Some(Duration::from_hours(6)));
    assert_ne!(accepted.hash, strict.hash);
    assert_ne!(accepted.hash, short.hash);
    // Accepting less than the limit changes no blocker
    let less = plan_accepting(
        &application(Vec::new()),
        None,
        &facts(),
        Some(Duration::from_hours(1)),
    );
    assert_eq!(less.stores[0].blockers, strict.stores[0].blockers);
}

#[test]
fn a_role_iam_could_not_be_asked_about_is_a_warning_not_a_blocker() {
    let mut unchecked = facts();
    unchecked.dr_region.restore_role = RoleCheck::Unchecked("iam:GetRole failed: HTTP 503".into());
    let plan = plan(&application(Vec::new()), None, &unchecked);
    let db = plan.stores.iter().find(|s| s.arn == arn(DB)).expect("db");
    assert!(db.blockers.is_empty(), "{:?}", db.blockers);
    assert_eq!(
        plan.warnings,
        [Warning::RoleUnchecked {
            error: "iam:GetRole failed: HTTP 503".into()
        }]
    );
    // A role IAM says is missing still blocks
    let mut missing = facts();
    missing.dr_region.restore_role = RoleCheck::Missing;
    let plan = super::plan(&application(Vec::new()), None, &missing);
    let db = plan.stores.iter().find(|s| s.arn == arn(DB)).expect("db");
    assert_eq!(db.blockers, [Blocker::RoleMissing]);
}

#[test]
fn a_record_switch_needs_route_53s_control_plane_and_blocks_when_it_cannot_be_read() {
    // Given a record switch whose current value Route 53 could not give
    let mut unreadable = facts();
    unreadable.current_switch_values.remove(&record());
    unreadable.unreadable_switches.insert(
        record(),
        "route53:ListResourceRecordSets failed: HTTP 503".into(),
    );
    let plan = plan(&application(switches()), None, &unreadable);

    // Then the record is blocked by name, the parameters are not, and the plan says the record
    // needs the control plane
    assert_eq!(
        plan.switches[0].blockers,
        [Blocker::SwitchUnreadable {
            error: "route53:ListResourceRecordSets failed: HTTP 503".into()
        }]
    );
    assert!(plan.switches[1].blockers.is_empty());
    assert!(plan.switches[0].control_plane.is_some());
    assert_eq!(plan.switches[1].control_plane, None);
    assert!(plan.warnings.iter().any(|w| matches!(
        w,
        Warning::NeedsControlPlane { switch, .. } if switch == &record().to_string()
    )));
    // The error's words do not move the hash
    let mut again = unreadable.clone();
    again.unreadable_switches.insert(
        record(),
        "route53:ListResourceRecordSets failed: timeout".into(),
    );
    assert_eq!(
        super::plan(&application(switches()), None, &again).hash,
        plan.hash
    );
}

#[test]
fn a_record_an_abort_could_not_put_back_exactly_blocks_its_switch() {
    // Given a record switch whose record has a routing policy
    let mut weighted = facts();
    weighted.unrestorable_switches.insert(
        record(),
        "a weighted record (set identifier \"blue\")".into(),
    );
    let plan = plan(&application(switches()), None, &weighted);

    // Then the plan is blocked by that switch alone, saying why
    assert!(!plan.ready);
    assert_eq!(
        plan.switches[0].blockers,
        [Blocker::SwitchNotRestorable {
            reason: "a weighted record (set identifier \"blue\")".into()
        }]
    );
    assert!(plan.switches[1].blockers.is_empty());
    assert!(plan.switches[0].blockers[0]
        .to_string()
        .contains("could not put it back exactly"));
}

fn planned<'p>(plan: &'p Plan, text: &str) -> &'p StorePlan {
    plan.stores
        .iter()
        .find(|s| s.arn == arn(text))
        .expect("the store is in the plan")
}

fn store_of<'f>(facts: &'f mut FailoverFacts, text: &str) -> &'f mut StoreFacts {
    facts
        .stores
        .iter_mut()
        .find(|s| s.arn == arn(text))
        .expect("the store")
}

#[test]
fn a_deleted_store_stays_in_the_plan_from_its_last_copy_losing_only_what_came_before_its_deletion()
{
    // Given the database deleted 40 minutes ago, its last copy taken 10 minutes before that
    let mut facts = facts();
    let db = store_of(&mut facts, DB);
    db.gone_at = Some(ago(40));
    let app = application(switches());

    // Then it is planned from that copy, judged alone, its data loss the 10 minutes (not the
    // 50 to now, past its 1-hour RPO only later), and the hash says it is gone
    let plan = plan(&app, None, &facts);
    let planned = planned(&plan, DB);
    assert_eq!(planned.source_gone_at, Some(ago(40)));
    assert_eq!(planned.data_loss, Some(Duration::from_minutes(10)));
    assert!(planned.blockers.is_empty(), "{:?}", planned.blockers);
    assert_ne!(plan.hash, super::plan(&app, None, &self::facts()).hash);
}

#[test]
fn a_deleted_store_without_a_copy_leaves_a_tag_selected_plan_with_a_warning_and_blocks_a_listed_one(
) {
    // Given the database deleted, and no copy of it in the DR region
    let mut facts = facts();
    let db = store_of(&mut facts, DB);
    db.gone_at = Some(ago(600));
    db.copies
        .retain(|c| !c.recovery_point_arn.contains(":us-west-2:"));
    let by_tag = application(Vec::new());

    // Then a tag-selected application's plan leaves it out, saying so
    let plan = plan(&by_tag, None, &facts);
    assert!(plan.stores.iter().all(|s| s.arn != arn(DB)));
    assert_eq!(
        plan.warnings,
        [Warning::GoneWithoutCopy {
            store: DB.into(),
            gone_at: ago(600),
        }]
    );

    // And one that lists it by ARN keeps it, blocked for want of a copy
    let by_arn = Application {
        stores: StoreSelector::Arns(vec![arn(DB), arn(TABLE)]),
        ..application(Vec::new())
    };
    let listed = super::plan(&by_arn, None, &facts);
    let db = planned(&listed, DB);
    assert_eq!(db.blockers, [Blocker::NoCopy]);
}

#[test]
fn a_restored_store_carries_its_sources_tags_and_tier_but_no_marks_of_copies() {
    // Given the table tagged by its owners, by AWS, by Bulwark's tier, and carrying marks a
    // copy of Bulwark's would have
    let mut facts = facts();
    store_of(&mut facts, TABLE).tags = BTreeMap::from([
        ("Application".into(), "payments".into()),
        ("DataClassification".into(), "Critical".into()),
        ("Name".into(), "orders".into()),
        ("aws:cloudformation:stack-name".into(), "payments".into()),
        ("bulwark:tier".into(), "critical".into()),
        ("bulwark:restore-test".into(), "t1".into()),
        ("bulwark:failover".into(), "r1".into()),
    ]);

    // Then its restored copy is to carry its owners' tags and its tier, nothing else
    let plan = plan(&application(switches()), None, &facts);
    let table = planned(&plan, TABLE);
    assert_eq!(
        table.tags,
        BTreeMap::from([
            ("Application".to_string(), "payments".to_string()),
            ("DataClassification".to_string(), "Critical".to_string()),
            ("bulwark:tier".to_string(), "critical".to_string()),
        ])
    );
}

#[test]
fn a_recovery_in_place_restores_each_store_from_its_newest_point_before_the_time_chosen() {
    // Given the database's points in its own region (us-east-1): a snapshot 3 hours old, a
    // newer one an hour old; and the application turned in place
    let mut facts = facts();
    let east = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:";
    store_of(&mut facts, DB).copies = vec![
        copy(&format!("{east}three"), ago(180), true, None),
        copy(&format!("{east}one"), ago(60), true, None),
    ];
    let app = in_place(&application(Vec::new()));
    assert_eq!(app.dr_region, app.primary_region);

    // When it is recovered to before 2 hours ago
    let plan = plan_recovering(&app, None, &facts, ago(120));

    // Then the database restores from the 3-hour-old point, losing the hour before the time
    // chosen by choice (past its 1-hour RPO, which does not block a recovery), and the time is
    // in the plan and its hash
    let db = planned(&plan, DB);
    assert_eq!(
        db.copy.as_ref().map(|c| c.recovery_point_arn.as_str()),
        Some(format!("{east}three").as_str())
    );
    assert_eq!(db.data_loss, Some(Duration::from_hours(1)));
    assert!(db.blockers.is_empty(), "{:?}", db.blockers);
    assert_eq!(plan.recover_before, Some(ago(120)));
    assert_ne!(
        plan.hash,
        plan_recovering(&app, None, &facts, ago(100)).hash
    );
}

#[test]
fn a_recovery_from_a_continuous_point_restores_to_the_second_chosen() {
    let mut facts = facts();
    store_of(&mut facts, DB).copies = vec![copy(
        "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-1",
        ago(600),
        true,
        None,
    )];
    let app = in_place(&application(Vec::new()));
    let before = now() - TimeDelta::seconds(3725);
    let plan = plan_recovering(&app, None, &facts, before);
    let db = planned(&plan, DB);
    assert_eq!(
        db.restore_metadata.get("RestoreTime").map(String::as_str),
        Some(before.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str())
    );
}

#[test]
fn a_recovery_restores_a_continuous_point_no_later_than_its_window_ends() {
    let mut facts = facts();
    let db = store_of(&mut facts, DB);
    db.copies = vec![copy(
        "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-1",
        ago(600),
        true,
        None,
    )];
    db.latest_restorable = Some(ago(90));
    let app = in_place(&application(Vec::new()));
    let plan = plan_recovering(&app, None, &facts, ago(30));
    assert_eq!(
        planned(&plan, DB)
            .restore_metadata
            .get("RestoreTime")
            .map(String::as_str),
        Some(ago(90).format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str())
    );
    // What it loses runs from the state it restores (not the point's creation, when its
    // recording began) to the time chosen
    assert_eq!(planned(&plan, DB).data_loss, Some(Duration::from_hours(1)));
}

#[test]
fn one_store_keeps_that_store_and_the_switches_that_name_it_alone() {
    let app = application(vec![
        switch(record(), "{orders-db.endpoint}"),
        switch(ssm("/payments/both"), "{orders-db.endpoint}/{orders.name}"),
        switch(ssm("/payments/table"), "{orders.name}"),
        switch(ssm("/payments/literal"), "maintenance"),
    ]);
    let tags = BTreeMap::from([("Application".to_string(), "payments".to_string())]);
    let db = one_store(&app, &arn(DB), &tags);
    assert_eq!(db.stores, StoreSelector::Arns(vec![arn(DB)]));
    let targets: Vec<String> = db.switches.iter().map(|s| s.target.to_string()).collect();
    assert_eq!(targets, ["route53 Z1 db.payments.example.com. CNAME"]);
    assert_eq!(db.name, app.name);
    // A store the application does not select: no store, which blocks the plan.
    let stranger = one_store(&app, &arn(DB), &BTreeMap::new());
    assert_eq!(stranger.stores, StoreSelector::Arns(Vec::new()));
    let mut facts = facts();
    facts.stores.retain(|s| s.arn.kind == Kind::Rds);
    assert!(plan(&db, None, &facts).ready);
    assert!(!plan(&stranger, None, &facts).ready);
}

#[test]
fn a_failover_prefers_the_newest_verified_copy_within_the_limit_unless_told_the_newest() {
    // Given the database's copies: a verified one 2 hours old, a newer unverified one 50
    // minutes old, and a verified one 30 hours old (past the 24-hour limit)
    const VERIFIED: &str = "arn:aws:rds:us-west-2:123456789012:snapshot:awsbackup:job-v";
    const ANCIENT: &str = "arn:aws:rds:us-west-2:123456789012:snapshot:awsbackup:job-a";
    let mut facts = facts();
    facts.stores.retain(|s| s.arn.kind == Kind::Rds);
    let db = &mut facts.stores[0];
    db.tier_rpo = Some(Duration::from_hours(24));
    db.copies
        .push(copy(VERIFIED, ago(120), true, Some(KEY_WEST)));
    db.copies
        .push(copy(ANCIENT, ago(30 * 60), true, Some(KEY_WEST)));
    db.verified_points = BTreeSet::from([VERIFIED.to_string(), ANCIENT.to_string()]);
    let app = application(Vec::new());

    // Then the plan takes the verified copy and says so
    let verified = plan(&app, None, &facts);
    let chosen = &verified.stores[0];
    assert_eq!(
        chosen.copy.as_ref().map(|c| c.recovery_point_arn.as_str()),
        Some(VERIFIED)
    );
    assert!(chosen.copy_verified);
    assert_eq!(chosen.data_loss, Some(Duration::from_hours(2)));
    assert!(verified.ready);

    // And --point newest takes the newest, unverified, said, under another hash
    let newest = plan_choosing(&app, None, &facts, None, true);
    let chosen = &newest.stores[0];
    assert_eq!(
        chosen.copy.as_ref().map(|c| c.recovery_point_arn.as_str()),
        Some(DB_COPY)
    );
    assert!(!chosen.copy_verified);
    assert!(newest.newest_point);
    assert_ne!(newest.hash, verified.hash);

    // And with the only verified copy past the limit, the newest is taken
    facts.stores[0].verified_points = BTreeSet::from([ANCIENT.to_string()]);
    let past = plan(&app, None, &facts);
    assert_eq!(
        past.stores[0]
            .copy
            .as_ref()
            .map(|c| c.recovery_point_arn.as_str()),
        Some(DB_COPY)
    );
    assert!(!past.stores[0].copy_verified);
    // A verified newest copy is verified either way.
    facts.stores[0].verified_points = BTreeSet::from([DB_COPY.to_string()]);
    assert!(plan(&app, None, &facts).stores[0].copy_verified);
    assert!(plan_choosing(&app, None, &facts, None, true).stores[0].copy_verified);
}

#[test]
fn a_file_systems_endpoint_blocks_its_switch_as_it_has_no_mount_targets_and_its_name_does_not() {
    const FS: &str =
        "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0";
    let mut facts = facts();
    facts.stores.retain(|s| s.arn.kind == Kind::Rds);
    facts.stores.push(store(
        FS,
        24,
        vec![copy(
            "arn:aws:backup:us-west-2:123456789012:recovery-point:fs-1",
            ago(30),
            true,
            Some(KEY_WEST),
        )],
    ));
    let by = |value: &str| {
        let app = application(vec![switch(ssm("/payments/shared"), value)]);
        plan(&app, None, &facts).switches[0].blockers.clone()
    };
    assert_eq!(
        by("{fs-0123456789abcdef0.endpoint}"),
        [Blocker::NoMountTargets {
            reference: "fs-0123456789abcdef0".into()
        }]
    );
    assert!(by("{fs-0123456789abcdef0.name}").is_empty());
}
