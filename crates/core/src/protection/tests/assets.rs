//! The tier tag and the native protections of single stores.

use chrono::Utc;

use super::super::*;
use super::{ACCOUNT, PRIMARY};
use crate::arn::{AccountId, Region, ResourceArn};
use crate::asset::{Asset, AssetState, Attributes};
use crate::classify::Classification;
use crate::config::Config;
use crate::kind::Kind;
use crate::replication::BucketReplication;

fn asset(kind: Kind, name: &str, tags: &[(&str, &str)], tier: Option<&str>) -> Asset {
    let region = Region::parse(PRIMARY).expect("region");
    let account = AccountId::parse(ACCOUNT).expect("account");
    let arn = ResourceArn::new(kind, "aws", &region, &account, name);
    let tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut asset = Asset::observed(
        arn,
        account,
        region,
        tags,
        Attributes::default(),
        Utc::now(),
    );
    asset.classification = Some(Classification {
        tier: tier.map(str::to_string),
        backup_required: tier.is_some(),
        reproducible: false,
        rule: "test".into(),
        reasons: Vec::new(),
        unknown_values: Vec::new(),
    });
    asset
}

#[test]
fn tags_follow_the_classification_exactly() {
    let config = Config::builtin();
    let mut gone = asset(Kind::S3, "gone", &[], Some("critical"));
    gone.state = AssetState::Gone;
    let mut unclassified = asset(Kind::S3, "new", &[], None);
    unclassified.classification = None;
    let assets = [
        asset(
            Kind::S3,
            "tagged",
            &[(TIER_TAG, "critical")],
            Some("critical"),
        ),
        asset(Kind::S3, "untagged", &[], Some("critical")),
        asset(
            Kind::S3,
            "other-tier",
            &[(TIER_TAG, "standard")],
            Some("critical"),
        ),
        asset(
            Kind::S3,
            "other-case",
            &[("Bulwark:Tier", "critical")],
            Some("critical"),
        ),
        asset(Kind::S3, "not-backed-up", &[(TIER_TAG, "standard")], None),
        asset(Kind::S3, "clean", &[], None),
        asset(Kind::S3, "stale", &[], Some("platinum")),
        gone,
        unclassified,
    ];
    let changes: Vec<(String, Option<String>)> = tag_changes(&config, &assets)
        .into_iter()
        .map(|c| {
            assert_eq!(c.region, PRIMARY);
            (c.arn, c.tier)
        })
        .collect();
    let critical = Some("critical".to_string());
    assert_eq!(
        changes,
        [
            ("arn:aws:s3:::untagged".to_string(), critical.clone()),
            ("arn:aws:s3:::other-tier".to_string(), critical.clone()),
            ("arn:aws:s3:::other-case".to_string(), critical),
            ("arn:aws:s3:::not-backed-up".to_string(), None),
        ]
    );
}

#[test]
fn changes_that_cannot_be_undone_or_restart_a_database_are_named() {
    let off = NativeState {
        pitr_enabled: Some(false),
        versioning_enabled: Some(false),
        backup_retention_days: Some(0),
        noncurrent_rule: None,
        s3_replication: None,
    };
    let caution = |config: &Config, kind, state: &NativeState| -> Vec<String> {
        native_actions(config, &asset(kind, "x", &[], Some("critical")), state)
            .iter()
            .filter_map(NativeAction::caution)
            .collect()
    };
    let builtin = Config::builtin();
    assert!(caution(&builtin, Kind::S3, &off)[0].contains("cannot be turned off"));
    assert!(caution(&builtin, Kind::Rds, &off)[0].contains("next maintenance window"));
    assert!(caution(&builtin, Kind::Dynamodb, &off).is_empty());
    // Raising a retention that is already on restarts nothing
    let short = NativeState {
        backup_retention_days: Some(1),
        ..off.clone()
    };
    assert!(caution(&builtin, Kind::Aurora, &short).is_empty());
    // Applied at once when the configuration says so, and named as an outage
    let text = crate::config::BUILTIN_TOML.replace(
        "rds_apply_immediately = false",
        "rds_apply_immediately = true",
    );
    let immediate = Config::from_toml_str("immediate.toml", &text).expect("valid");
    assert!(caution(&immediate, Kind::Rds, &off)[0].contains("an outage"));
    assert!(matches!(
        native_actions(
            &immediate,
            &asset(Kind::Rds, "x", &[], Some("critical")),
            &off
        )[..],
        [NativeAction::SetBackupRetention {
            immediately: true,
            from_days: 0,
            ..
        }]
    ));
}

#[test]
fn native_protections_are_switched_on_only_where_known_to_be_off() {
    let config = Config::builtin();
    let off = NativeState {
        pitr_enabled: Some(false),
        versioning_enabled: Some(false),
        backup_retention_days: Some(0),
        noncurrent_rule: None,
        s3_replication: None,
    };
    let on = NativeState {
        pitr_enabled: Some(true),
        versioning_enabled: Some(true),
        backup_retention_days: Some(7),
        noncurrent_rule: None,
        s3_replication: None,
    };
    let actions = |kind, tier, state: &NativeState| {
        native_actions(&config, &asset(kind, "x", &[], tier), state)
    };
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/x";
    assert_eq!(
        actions(Kind::Dynamodb, Some("critical"), &off),
        [NativeAction::EnablePitr {
            arn: table.into(),
            region: PRIMARY.into(),
            table: "x".into(),
        }]
    );
    assert_eq!(actions(Kind::Dynamodb, Some("standard"), &off), []);
    assert_eq!(actions(Kind::S3, Some("standard"), &off).len(), 1);
    let retention =
        |tier, state: &NativeState| match actions(Kind::Aurora, Some(tier), state).as_slice() {
            [NativeAction::SetBackupRetention {
                days,
                cluster: true,
                ..
            }] => Some(*days),
            [] => None,
            other => panic!("{other:?}"),
        };
    assert_eq!(retention("critical", &off), Some(7));
    assert_eq!(retention("standard", &off), Some(1));
    assert_eq!(retention("critical", &on), None);
    for kind in Kind::ALL {
        assert_eq!(actions(kind, Some("critical"), &on), [], "{kind}");
        assert_eq!(
            actions(kind, Some("critical"), &NativeState::default()),
            [],
            "{kind}"
        );
        assert_eq!(actions(kind, None, &off), [], "{kind}");
    }
}

#[test]
fn a_tiers_noncurrent_rule_is_put_where_the_bucket_lacks_it_or_has_another_and_named_for_its_expiry(
) {
    // Given critical stating noncurrent versions to GLACIER after 30 days, expired after 365
    let text = crate::config::BUILTIN_TOML.replace(
        "[tiers.critical]\n",
        "[tiers.critical]\nnoncurrent_versions = { transition_after = \"30d\", expire_after = \"365d\" }\n",
    );
    let config = Config::from_toml_str("noncurrent.toml", &text).expect("valid");
    let want = crate::taxonomy::NoncurrentVersions {
        transition: Some(crate::taxonomy::NoncurrentTransition {
            after_days: 30,
            storage_class: "GLACIER".into(),
        }),
        expire_after_days: Some(365),
    };
    assert_eq!(
        config
            .tier("critical")
            .and_then(|t| t.noncurrent_versions.clone()),
        Some(want.clone())
    );
    let bucket = |tier| asset(Kind::S3, "logs", &[], tier);
    let with = |rule: Option<Option<crate::taxonomy::NoncurrentVersions>>| NativeState {
        versioning_enabled: Some(true),
        noncurrent_rule: rule,
        ..NativeState::default()
    };
    let put = NativeAction::PutNoncurrentRule {
        arn: "arn:aws:s3:::logs".into(),
        region: PRIMARY.into(),
        bucket: "logs".into(),
        rule: want.clone(),
    };
    // When the bucket has none, or another, the rule is put; when it has the same, nothing
    assert_eq!(
        native_actions(&config, &bucket(Some("critical")), &with(Some(None))),
        std::slice::from_ref(&put)
    );
    let other = crate::taxonomy::NoncurrentVersions {
        expire_after_days: Some(7),
        ..want.clone()
    };
    assert_eq!(
        native_actions(&config, &bucket(Some("critical")), &with(Some(Some(other)))),
        std::slice::from_ref(&put)
    );
    assert!(native_actions(&config, &bucket(Some("critical")), &with(Some(Some(want)))).is_empty());
    // Not read, or a tier that states none: nothing
    assert!(native_actions(&config, &bucket(Some("critical")), &with(None)).is_empty());
    assert!(native_actions(&config, &bucket(Some("important")), &with(Some(None))).is_empty());
    // And its expiry is named before it is applied
    assert!(put
        .caution()
        .is_some_and(|c| c.contains("deleted 365 days after")));
}

#[test]
fn a_bucket_of_a_tier_with_s3_replication_gets_its_replica_unless_its_owner_replicates_it_otherwise(
) {
    // Given critical (copied to us-west-2) with s3_replication; important without it
    let text = crate::config::BUILTIN_TOML.replace(
        "[tiers.critical]\n",
        "[tiers.critical]\ns3_replication = true\n",
    );
    let config = Config::from_toml_str("replication.toml", &text).expect("valid");
    let ours = "arn:aws:iam::123456789012:role/service-role/bulwark-s3-replication";
    let with = |replication: Option<BucketReplication>| NativeState {
        versioning_enabled: Some(true),
        s3_replication: replication,
        ..NativeState::default()
    };
    let replicate = NativeAction::ReplicateBucket {
        arn: "arn:aws:s3:::ledger".into(),
        region: PRIMARY.into(),
        bucket: "ledger".into(),
        replica: "ledger-replica-us-west-2".into(),
        replica_region: "us-west-2".into(),
        role_arn: ours.into(),
    };
    let ledger = asset(Kind::S3, "ledger", &[], Some("critical"));
    let unreplicated = Some(BucketReplication::default());

    // When the bucket has no replication, it gets its replica
    assert_eq!(
        native_actions(&config, &ledger, &with(unreplicated.clone())),
        std::slice::from_ref(&replicate)
    );
    assert_eq!(
        replication_refusal(&config, &ledger, &with(unreplicated.clone())),
        None
    );
    // With Bulwark's rule to that replica: nothing; to another (the DR region moved): put again
    let replicated = |to: &str| BucketReplication {
        role: Some(ours.into()),
        ours: Some(format!("arn:aws:s3:::{to}")),
        others: vec!["owners-analytics".into()],
    };
    assert!(native_actions(
        &config,
        &ledger,
        &with(Some(replicated("ledger-replica-us-west-2")))
    )
    .is_empty());
    assert_eq!(
        native_actions(
            &config,
            &ledger,
            &with(Some(replicated("ledger-replica-eu-west-1")))
        ),
        std::slice::from_ref(&replicate)
    );
    // When its owner replicates it under another role: left alone, and the plan says why
    let owners = BucketReplication {
        role: Some("arn:aws:iam::123456789012:role/owners-replication".into()),
        ours: None,
        others: vec!["to-analytics".into()],
    };
    assert!(native_actions(&config, &ledger, &with(Some(owners.clone()))).is_empty());
    let why = replication_refusal(&config, &ledger, &with(Some(owners))).expect("refused");
    assert!(
        why.contains("owners-replication") && why.contains("to-analytics"),
        "{why}"
    );
    // Not read, another tier, or a replica itself: nothing
    assert!(native_actions(&config, &ledger, &with(None)).is_empty());
    let important = asset(Kind::S3, "ledger", &[], Some("important"));
    assert!(native_actions(&config, &important, &with(unreplicated.clone())).is_empty());
    let replica = asset(
        Kind::S3,
        "ledger-replica-us-west-2",
        &[(crate::replication::REPLICA_OF_TAG, "arn:aws:s3:::ledger")],
        Some("critical"),
    );
    assert!(native_actions(&config, &replica, &with(unreplicated)).is_empty());
    // And the plan warns that what is there already is not copied
    assert!(replicate
        .caution()
        .is_some_and(|c| c.contains("already there are not copied")));
}
