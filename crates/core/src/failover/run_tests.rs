//! What a run does next, step by step, over records written by hand.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::tests::{application, arn, facts, now, switches, DB, TABLE};
use super::*;
use crate::application::{AppName, Attribute, StoreSelector};
use crate::restore::Finding;

fn run() -> Run {
    let plan = plan(&application(switches()), None, &facts());
    Run::new(
        plan,
        "alice",
        "us-east-1 is down",
        now(),
        &AppName::parse("payments").expect("name"),
    )
}

/// The database is plan store 0 (ARNs sort `arn:aws:dynamodb` first: the table is 0).
fn index_of(run: &Run, text: &str) -> usize {
    run.plan
        .stores
        .iter()
        .position(|s| s.arn == arn(text))
        .expect("store in plan")
}

fn restored(run: &mut Run, text: &str) {
    let i = index_of(run, text);
    let name = run.plan.stores[i].restored_name.clone();
    let store = &mut run.stores[i];
    store.restore_job_id = Some(format!("job-{i}"));
    store.restored = Some(Restored {
        arn: format!("arn:aws:x:us-west-2:123456789012:x/{name}"),
        id: name.clone(),
        completed: now(),
        attributes: BTreeMap::from([
            (Attribute::Endpoint, format!("{name}.west.example")),
            (Attribute::Port, "5432".into()),
        ]),
    });
}

fn validated(run: &mut Run, text: &str, passed: bool) {
    let i = index_of(run, text);
    run.stores[i].validated = Some(now());
    run.stores[i].findings = vec![Finding::new("items", passed, "3 of 3")];
}

#[test]
fn a_run_id_is_the_application_and_the_second_and_names_a_step_functions_execution() {
    let id = RunId::new(&AppName::parse("payments").expect("name"), now());
    assert_eq!(id.as_str(), "payments-20260301T120000000");
    assert_eq!(RunId::parse(id.as_str()), Ok(id));
    let longest = RunId::new(&AppName::parse(&"a".repeat(64)).expect("name"), now());
    assert!(longest.as_str().len() <= 80);
    assert!(RunId::parse("payments 1").is_err());
    assert!(RunId::parse("").is_err());
    assert!(RunId::parse(&"a".repeat(81)).is_err());
}

#[test]
fn every_restore_starts_first_then_each_is_polled_then_validated() {
    let mut run = run();
    assert_eq!(next(&run), Next::Restore(vec![0, 1]));
    run.stores[0].restore_job_id = Some("job-0".into());
    assert_eq!(next(&run), Next::Restore(vec![1]));
    run.stores[1].restore_job_id = Some("job-1".into());
    assert_eq!(next(&run), Next::Poll(vec![0, 1]));
    restored(&mut run, TABLE);
    assert_eq!(next(&run), Next::Poll(vec![index_of(&run, DB)]));
    restored(&mut run, DB);
    assert_eq!(next(&run), Next::Validate(vec![0, 1]));
}

#[test]
fn switches_are_written_one_at_a_time_each_verified_before_the_next_with_restored_values() {
    let mut run = run();
    for store in [TABLE, DB] {
        restored(&mut run, store);
        validated(&mut run, store, true);
    }
    let db_name = run.plan.stores[index_of(&run, DB)].restored_name.clone();
    let table_name = run.plan.stores[index_of(&run, TABLE)].restored_name.clone();
    assert_eq!(
        next(&run),
        Next::Switch {
            index: 0,
            value: format!("{db_name}.west.example")
        }
    );
    run.switches[0].written = Some(now());
    assert_eq!(next(&run), Next::Verify(0));
    run.switches[0].verified = Some(now());
    assert_eq!(
        next(&run),
        Next::Switch {
            index: 1,
            value: table_name.clone()
        }
    );
    run.switches[1].written = Some(now());
    run.switches[1].verified = Some(now());
    assert_eq!(
        next(&run),
        Next::Switch {
            index: 2,
            value: format!("us-west-2|arn:aws:x:us-west-2:123456789012:x/{table_name}")
        }
    );
    run.switches[2].written = Some(now());
    run.switches[2].verified = Some(now());
    assert_eq!(next(&run), Next::Succeed);
    run.ending = Some(Ending::Succeeded {
        at: now(),
        rto_seconds: 60,
    });
    assert_eq!(next(&run), Next::Ended);
}

#[test]
fn a_failed_validation_stops_the_run_before_any_switch() {
    let mut run = run();
    for store in [TABLE, DB] {
        restored(&mut run, store);
    }
    validated(&mut run, TABLE, false);
    validated(&mut run, DB, true);
    match next(&run) {
        Next::Fail(reason) => {
            assert!(reason.starts_with(TABLE), "{reason}");
            assert!(
                reason.contains("validation failed: items: 3 of 3"),
                "{reason}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_failed_restore_stops_the_run_once_the_restores_in_flight_have_ended() {
    let mut run = run();
    run.stores[0].restore_job_id = Some("job-0".into());
    run.stores[1].failure = Some("restore job job-1 FAILED".into());
    // The other restore is followed to its end first, so that its store is tagged and listed
    assert_eq!(next(&run), Next::Poll(vec![0]));
    restored(&mut run, TABLE);
    assert!(matches!(next(&run), Next::Fail(reason) if reason.contains("job-1 FAILED")));
}

#[test]
fn a_switch_refused_stops_the_run_before_the_next_switch() {
    let mut run = run();
    for store in [TABLE, DB] {
        restored(&mut run, store);
        validated(&mut run, store, true);
    }
    run.switches[0].written = Some(now());
    run.switches[0].verified = Some(now());
    run.switches[1].failure = Some("InvalidChangeBatch".into());
    assert!(
        matches!(next(&run), Next::Fail(reason) if reason.starts_with("switch ") && reason.contains("InvalidChangeBatch"))
    );
}

#[test]
fn a_placeholder_without_a_restored_value_fails_rather_than_switching_to_nothing() {
    let mut run = run();
    for store in [TABLE, DB] {
        restored(&mut run, store);
        validated(&mut run, store, true);
    }
    let db = index_of(&run, DB);
    if let Some(r) = run.stores[db].restored.as_mut() {
        r.attributes.clear();
    }
    match next(&run) {
        Next::Fail(reason) => assert!(reason.contains("{orders-db.endpoint}"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn an_abort_puts_back_each_written_switch_the_last_first_then_ends() {
    let mut run = run();
    for switch in &mut run.switches[..2] {
        switch.previous = Some(Some("before".into()));
        switch.written = Some(now());
    }
    run.abort_requested = Some(now());
    assert_eq!(next(&run), Next::Revert(1));
    run.switches[1].reverted = Some(now());
    assert_eq!(next(&run), Next::Revert(0));
    run.switches[0].reverted = Some(now());
    assert_eq!(next(&run), Next::Aborted);
    assert!(switched(&run).is_empty());
}

#[test]
fn an_abort_during_the_restores_follows_those_in_flight_to_their_end_after_the_switches() {
    // Store 0's restore started, store 1's not yet; a switch was written (a resumed run).
    let mut run = run();
    run.stores[0].restore_job_id = Some("job-0".into());
    run.switches[0].previous = Some(Some("before".into()));
    run.abort_requested = Some(now());
    assert_eq!(next(&run), Next::Revert(0));
    run.switches[0].reverted = Some(now());
    assert_eq!(next(&run), Next::Poll(vec![0]));
    // A restore that failed is not followed; one never started is not started.
    run.stores[0].failure = Some("the job failed".into());
    assert_eq!(next(&run), Next::Aborted);
    run.stores[0].failure = None;
    run.stores[0].restored = Some(Restored {
        arn: "arn:aws:dynamodb:us-west-2:123456789012:table/bulwark-fo-orders-1".into(),
        id: "bulwark-fo-orders-1".into(),
        completed: now(),
        attributes: BTreeMap::new(),
    });
    assert_eq!(next(&run), Next::Aborted);
    assert_eq!(run.restored().len(), 1);
}

#[test]
fn an_abort_puts_back_a_switch_whose_write_was_never_recorded() {
    // The process died after the write of switch 1, before its record: only its previous
    // value was recorded. Switch 0 was recorded before a write that was never made.
    let mut run = run();
    run.switches[0].previous = Some(Some("orders.primary.example.net".into()));
    run.switches[0].written = Some(now());
    run.switches[1].previous = Some(None);
    run.abort_requested = Some(now());
    assert_eq!(next(&run), Next::Revert(1));
    assert_eq!(switched(&run).len(), 2);
    run.switches[1].reverted = Some(now());
    assert_eq!(next(&run), Next::Revert(0));
    run.switches[0].reverted = Some(now());
    assert_eq!(next(&run), Next::Aborted);
}

#[test]
fn a_switch_recorded_before_a_target_that_did_not_exist_reads_back_as_recorded() {
    let created = SwitchRun {
        previous: Some(None),
        ..SwitchRun::default()
    };
    let text = serde_json::to_string(&created).expect("json");
    let back: SwitchRun = serde_json::from_str(&text).expect("read back");
    assert_eq!(back.previous, Some(None), "{text}");
    assert!(back.may_be_switched());
    let untouched: SwitchRun =
        serde_json::from_str(&serde_json::to_string(&SwitchRun::default()).expect("json"))
            .expect("read back");
    assert_eq!(untouched.previous, None);
}

#[test]
fn the_data_lost_is_each_copys_age_at_the_request() {
    let mut run = run();
    run.requested_at = now() + TimeDelta::minutes(10);
    let loss = run.data_loss_seconds();
    // The database's copy was 50 minutes old at planning, the table's 5 hours.
    assert_eq!(loss.get(DB), Some(&Some(60 * 60)));
    assert_eq!(loss.get(TABLE), Some(&Some(310 * 60)));
}

#[test]
fn a_failback_fails_the_restored_stores_over_to_the_primary_region_and_renames_placeholders() {
    let mut run = run();
    for store in [TABLE, DB] {
        let i = index_of(&run, store);
        let name = run.plan.stores[i].restored_name.clone();
        let arn = run.plan.stores[i]
            .restored_arn
            .as_ref()
            .expect("a restored ARN")
            .to_string();
        run.stores[i].restored = Some(Restored {
            arn,
            id: name,
            completed: now(),
            attributes: BTreeMap::new(),
        });
    }
    let app = application(switches());
    assert!(
        failback_application(&app, &run).is_err(),
        "not succeeded yet"
    );
    run.ending = Some(Ending::Succeeded {
        at: now(),
        rto_seconds: 60,
    });
    let back = failback_application(&app, &run).expect("a failback");
    assert_eq!(back.primary_region.as_str(), "us-west-2");
    assert_eq!(back.dr_region.as_str(), "us-east-1");
    let StoreSelector::Arns(stores) = &back.stores else {
        panic!("stores by ARN");
    };
    let table = &run.plan.stores[index_of(&run, TABLE)];
    assert!(stores.contains(table.restored_arn.as_ref().expect("arn")));
    assert_eq!(stores.len(), 2);
    // `{orders.name}` names the restored table now
    let placeholders: Vec<String> = back
        .switches
        .iter()
        .flat_map(|s| s.value.placeholders().map(|p| p.store.clone()))
        .collect();
    assert!(
        placeholders.contains(&table.restored_name),
        "{placeholders:?}"
    );
    assert!(
        !placeholders.contains(&"orders".to_string()),
        "{placeholders:?}"
    );
    assert_eq!(back.switches.len(), app.switches.len());
}

#[test]
fn a_new_run_adopts_what_the_newest_failed_or_aborted_run_of_its_plan_restored() {
    let restored = |id: &str| Restored {
        arn: format!("arn:aws:dynamodb:us-west-2:123456789012:table/{id}"),
        id: id.into(),
        completed: now(),
        attributes: BTreeMap::new(),
    };
    let mut older = run();
    older.id = RunId::parse("payments-20260301T100000000").expect("id");
    older.requested_at = now() - TimeDelta::hours(2);
    older.ending = Some(Ending::Aborted { at: now() });
    older.stores[0].restore_job_id = Some("job-old".into());
    older.stores[0].restored = Some(restored("old"));
    let mut newer = older.clone();
    newer.id = RunId::parse("payments-20260301T110000000").expect("id");
    newer.requested_at = now() - TimeDelta::hours(1);
    newer.ending = Some(Ending::Failed {
        at: now(),
        reason: "not compared".into(),
    });
    newer.stores[0].restore_job_id = Some("job-new".into());
    newer.stores[0].restored = Some(restored("new"));
    newer.stores[0].findings = vec![Finding {
        check: "compared with its source".into(),
        passed: false,
        detail: "not compared".into(),
        not_compared: true,
    }];
    // Store 1's restore never completed in either run.
    newer.stores[1].restore_job_id = Some("job-1".into());
    let new = run();

    let adopted = adoptable(&new, &[older.clone(), newer.clone()]);
    let first = adopted[0].as_ref().expect("store 0 adopted");
    assert_eq!(first.adopted_from.as_ref(), Some(&newer.id));
    assert_eq!(first.restored, Some(restored("new")));
    assert_eq!(first.restore_job_id.as_deref(), Some("job-new"));
    assert!(
        first.validated.is_none() && first.findings.is_empty(),
        "judged again"
    );
    assert!(adopted[1].is_none());

    // A succeeded run's stores are in use; a running one's are its own; another copy is
    // another name.
    let mut succeeded = newer.clone();
    succeeded.ending = Some(Ending::Succeeded {
        at: now(),
        rto_seconds: 1,
    });
    let mut running = newer.clone();
    running.ending = None;
    assert!(adoptable(&new, &[succeeded, running])
        .iter()
        .all(Option::is_none));
    let mut other_copy = newer.clone();
    other_copy.plan.stores[0].restored_name = "bulwark-fo-orders-000000000000".into();
    assert!(adoptable(&new, &[other_copy])[0].is_none());
}
