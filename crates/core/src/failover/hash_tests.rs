//! The plan's hash: its canonical form, what changes it and what does not, and `verify`. The
//! golden hash was computed outside Rust (`sha256sum` over the hand-written form).

use chrono::TimeDelta;
use proptest::prelude::*;

use super::hash::canonical_form;
use super::tests::{
    ago, application, copy, facts, now, record, ssm, store, switch, switches, DB_COPY, KEY_WEST,
    TABLE, TABLE_COPY,
};
use super::*;
use crate::application::{Application, Switch};
use crate::config::RestorePrerequisites;

#[test]
fn the_hash_covers_the_canonical_form_and_nothing_else() {
    let facts = FailoverFacts {
        stores: vec![store(
            TABLE,
            4,
            vec![copy(TABLE_COPY, ago(300), true, None)],
        )],
        dr_region: DrRegionFacts {
            restore_role: RoleCheck::Missing,
            ..DrRegionFacts::default()
        },
        ..facts()
    };
    let plan = plan(
        &application(vec![switch(ssm("/payments/table"), "{orders.name}")]),
        None,
        &facts,
    );
    let expected = concat!(
        r#"{"application":"payments","primary_region":"us-east-1","dr_region":"us-west-2","#,
        r#""blockers":[],"stores":[{"arn":"arn:aws:dynamodb:us-east-1:123456789012:table/orders","#,
        r#""copy":"arn:aws:backup:us-west-2:123456789012:recovery-point:rp-1","#,
        r#""restored_name":"bulwark-fo-orders-f232869caf88","#,
        r#""restore_metadata":{"targetTableName":"bulwark-fo-orders-f232869caf88"},"#,
        r#""blockers":[{"blocker":"copy_too_old","age":"0m","limit":"4h"},{"blocker":"role_missing"}],"#,
        r#""tags":{"bulwark:tier":"critical"}}],"#,
        r#""switches":[{"target":{"kind":"ssm","region":"us-west-2","parameter":"/payments/table"},"#,
        r#""ttl":null,"current":"orders","template":"{orders.name}","blockers":[]}]}"#
    );
    assert_eq!(canonical_form(&plan), expected);
    // sha256("bulwark failover plan v1\0" + expected), by sha256sum.
    assert_eq!(
        plan.hash.as_str(),
        "38167a6ba87c043e2a9a26c6a99c83fa3dccd8428dba53527cfb9bc7e5885840"
    );
    assert_eq!(plan.hash.short(), "38167a6ba87c043e");
    assert_eq!(plan.hash.to_string(), "38167a6ba87c043e");
}

#[test]
fn what_decides_the_execution_changes_the_hash() {
    let app = application(switches());
    let base = plan(&app, None, &facts()).hash;
    let mut newer = facts();
    newer.stores[0].copies.push(copy(
        &DB_COPY.replace("job-1", "job-4"),
        ago(20),
        true,
        Some(KEY_WEST),
    ));
    let mut blocked = facts();
    blocked.dr_region.restore_role = RoleCheck::Missing;
    let mut moved = facts();
    moved
        .current_switch_values
        .insert(record(), Some("elsewhere.example.com".into()));
    let mut gone = facts();
    gone.current_switch_values.insert(record(), None);
    for (what, facts) in [
        ("a newer copy", newer),
        ("a blocker", blocked),
        ("a switch's value", moved),
        ("a switch's record deleted", gone),
    ] {
        assert_ne!(plan(&app, None, &facts).hash, base, "{what}");
    }
    let prerequisites = RestorePrerequisites {
        db_subnet_group: Some("default".into()),
        security_groups: vec!["sg-12345678".into()],
        ..RestorePrerequisites::default()
    };
    assert_ne!(
        plan(&app, Some(&prerequisites), &facts()).hash,
        base,
        "the restore metadata"
    );
    let retimed = Application {
        switches: vec![Switch {
            ttl: Some(300),
            ..switches()[0].clone()
        }],
        ..app.clone()
    };
    let one = Application {
        switches: vec![switches()[0].clone()],
        ..app.clone()
    };
    assert_ne!(
        plan(&retimed, None, &facts()).hash,
        plan(&one, None, &facts()).hash,
        "a TTL"
    );
}

#[test]
fn verify_takes_the_whole_hash_or_its_short_form_in_any_case() {
    let plan = plan(&application(switches()), None, &facts());
    let full = plan.hash.as_str().to_string();
    let short = plan.hash.short().to_string();
    for given in [
        full.clone(),
        short.clone(),
        short.to_uppercase(),
        format!("  {full}\n"),
    ] {
        assert_eq!(verify(&plan, &given), Ok(()), "{given:?}");
    }
    for given in [&full[..15], &full[..17], "", "0000000000000000"] {
        let err = verify(&plan, given).expect_err(given);
        assert_eq!(err.current, short);
        assert!(
            err.to_string()
                .contains("the plan changed since it was read"),
            "{err}"
        );
    }
}

#[test]
fn a_plan_round_trips_through_json() {
    let plan = plan(&application(switches()), None, &facts());
    let json = serde_json::to_string(&plan).expect("json");
    assert_eq!(serde_json::from_str::<Plan>(&json).expect("back"), plan);
    assert!(PlanHash::parse("abc").is_err());
}

proptest! {
    #[test]
    fn the_hash_does_not_drift_with_the_clock(seconds in 0i64..=600) {
        // Ten minutes on, the database's copy is exactly at its 1-hour RPO, not past it; the
        // table's is further past its own, and the same blocker.
        let app = application(switches());
        let later = FailoverFacts { now: now() + TimeDelta::seconds(seconds), ..facts() };
        prop_assert_eq!(plan(&app, None, &later).hash, plan(&app, None, &facts()).hash);
    }
}
