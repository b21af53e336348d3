//! A tier with `s3_replication`: assign-policy, under its template role, makes each bucket's
//! replica in the DR region and puts Bulwark's replication rule on it, S3 assuming the
//! template's replication role; a bucket its owner replicates under a role of their own is left
//! as it is and the plan says why. The local AWS refuses a replication whose destination is
//! missing or unversioned (FIDELITY.md, "S3 replication").

use aws_sdk_s3::types::{
    Destination, ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus,
};
use bulwark_core::Config;
use chrono::Utc;

use crate::harness::{TestAccount, HOME_REGION};
use crate::seed;

const DR_REGION: &str = "us-west-2";

/// The built-in configuration, the critical tier's buckets replicated to its DR region.
fn config() -> Config {
    let text = bulwark_core::config::BUILTIN_TOML.replacen(
        "[tiers.critical]\n",
        "[tiers.critical]\ns3_replication = true\n",
        1,
    );
    Config::from_toml_str("replication.toml", &text).expect("a configuration")
}

async fn versioned_bucket(t: &TestAccount, region: &str, name: &str, tags: &[(&str, &str)]) {
    seed::bucket(t, region, name, tags).await;
    seed::versioning(t, region, name).await;
}

async fn replication(t: &TestAccount, bucket: &str) -> ReplicationConfiguration {
    t.s3(HOME_REGION)
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .expect("a replication configuration")
        .replication_configuration()
        .cloned()
        .expect("a configuration")
}

#[tokio::test]
async fn a_critical_bucket_gets_its_replica_in_the_dr_region_and_an_owners_replication_is_left_alone(
) {
    // Given two critical buckets: one not replicated (and not yet versioned), one its owner
    // replicates to an analytics bucket under a role of their own
    let t = TestAccount::new().await;
    let ledger = format!("ledger-{}", t.account);
    let owned = format!("owned-{}", t.account);
    let analytics = format!("analytics-{}", t.account);
    seed::bucket(
        &t,
        HOME_REGION,
        &ledger,
        &[("DataClassification", "Critical")],
    )
    .await;
    versioned_bucket(
        &t,
        HOME_REGION,
        &owned,
        &[("DataClassification", "Critical")],
    )
    .await;
    versioned_bucket(&t, HOME_REGION, &analytics, &[]).await;
    let owners_role = format!("arn:aws:iam::{}:role/owners-replication", t.account);
    let owners = ReplicationConfiguration::builder()
        .role(&owners_role)
        .rules(
            ReplicationRule::builder()
                .id("to-analytics")
                .priority(1)
                .status(ReplicationRuleStatus::Enabled)
                .filter(ReplicationRuleFilter::builder().prefix("").build())
                .delete_marker_replication(
                    aws_sdk_s3::types::DeleteMarkerReplication::builder()
                        .status(aws_sdk_s3::types::DeleteMarkerReplicationStatus::Disabled)
                        .build(),
                )
                .destination(
                    Destination::builder()
                        .bucket(format!("arn:aws:s3:::{analytics}"))
                        .build()
                        .expect("a destination"),
                )
                .build()
                .expect("a rule"),
        )
        .build()
        .expect("a configuration");
    t.s3(HOME_REGION)
        .put_bucket_replication()
        .bucket(&owned)
        .replication_configuration(owners.clone())
        .send()
        .await
        .expect("the owner's replication");
    t.discover_and_classify(&[HOME_REGION]).await;
    let config = config();
    let assigner = t.function("assign-policy").await;
    let run = |apply: bool| {
        let assigner = &assigner;
        let config = &config;
        let t = &t;
        async move {
            bulwark_aws::assign::assign(
                assigner,
                &t.inventory(assigner).await,
                config,
                None,
                bulwark_aws::assign::Targets::Everything,
                apply,
                Utc::now(),
            )
            .await
            .expect("a report")
        }
    };

    // When assign-policy applies, under its template role
    let applied = run(true).await;
    assert!(applied.failures.is_empty(), "{:?}", applied.failures);

    // Then the ledger's replica is in the DR region: versioned, encrypted, private, and tagged
    // with the bucket it replicates
    let replica = format!("{ledger}-replica-{DR_REGION}");
    let dr = t.s3(DR_REGION);
    let versioning = dr
        .get_bucket_versioning()
        .bucket(&replica)
        .send()
        .await
        .expect("the replica exists");
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let location = dr
        .get_bucket_location()
        .bucket(&replica)
        .send()
        .await
        .expect("its location");
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some(DR_REGION)
    );
    let encryption = dr
        .get_bucket_encryption()
        .bucket(&replica)
        .send()
        .await
        .expect("its encryption");
    let by_default = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().as_str().to_string());
    assert_eq!(by_default.as_deref(), Some("AES256"));
    let block = dr
        .get_public_access_block()
        .bucket(&replica)
        .send()
        .await
        .expect("its public access block");
    assert!(block
        .public_access_block_configuration()
        .is_some_and(
            |b| b.block_public_policy() == Some(true) && b.restrict_public_buckets() == Some(true)
        ));
    let tags = dr
        .get_bucket_tagging()
        .bucket(&replica)
        .send()
        .await
        .expect("its tags");
    assert!(tags
        .tag_set()
        .iter()
        .any(|tag| tag.key() == "bulwark:replica-of"
            && tag.value() == format!("arn:aws:s3:::{ledger}")));

    // And the ledger replicates there as the template's replication role, with metrics and
    // without carrying deletions over
    let ours = replication(&t, &ledger).await;
    assert_eq!(
        ours.role(),
        format!(
            "arn:aws:iam::{}:role/service-role/bulwark-s3-replication",
            t.account
        )
    );
    let rule = ours
        .rules()
        .iter()
        .find(|r| r.id() == Some("bulwark-dr-replication"))
        .expect("Bulwark's rule");
    let destination = rule.destination().expect("a destination");
    assert_eq!(destination.bucket(), format!("arn:aws:s3:::{replica}"));
    assert!(destination
        .metrics()
        .is_some_and(|m| m.status().as_str() == "Enabled"));

    // And the owner's replication is as it was, the plan naming why
    let theirs = replication(&t, &owned).await;
    assert_eq!(theirs.role(), owners_role);
    assert_eq!(
        theirs
            .rules()
            .iter()
            .map(|r| r.id().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["to-analytics"]
    );
    let unreconciled: Vec<&String> = applied
        .scopes
        .iter()
        .flat_map(|s| &s.unreconciled)
        .collect();
    assert!(
        unreconciled
            .iter()
            .any(|u| u.contains(&owned) && u.contains("owners-replication")),
        "{unreconciled:?}"
    );
    assert!(t
        .s3(DR_REGION)
        .head_bucket()
        .bucket(format!("{owned}-replica-{DR_REGION}"))
        .send()
        .await
        .is_err());

    // When the plan is made again, it has no replication to do
    let again = run(false).await;
    let replicating: Vec<_> = again
        .scopes
        .iter()
        .flat_map(|s| &s.native_actions)
        .filter(|a| {
            matches!(
                a,
                bulwark_core::protection::NativeAction::ReplicateBucket { .. }
            )
        })
        .collect();
    assert!(replicating.is_empty(), "{replicating:?}");
}
