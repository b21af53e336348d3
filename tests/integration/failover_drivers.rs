//! One driver per failover run: a second driver is refused while the first may still drive,
//! takes over only once it is gone, and a driver taken over writes nothing more; an abort and
//! the run's end that race leave one consistent record. The local AWS holds chosen state-table
//! writes unanswered (named hangs) to stop a driver exactly where the race is.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use crate::failover::DR_REGION;
use crate::failover_run::{
    bulwark_command, bulwark_spawned, bulwark_with, execute, json_of, ready_application,
    restore_jobs, resume, stderr, switch_values,
};
use crate::harness::{await_hung, clear_fault, TestAccount};

/// The table the CLI tests write (`failover_run::bulwark_command`).
const CLI_TABLE: &str = "bulwark-cli-test";

/// Hold, unanswered, the account's state-table transactions whose body holds `contains`.
fn hang_writes(t: &TestAccount, name: &str, contains: &str) {
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "dynamodb",
            "operation": "TransactWriteItems", "mode": "hang",
            "contains": contains, "name": name,
        }),
    );
}

/// The application's lock in the DR region's replica of `table`: its run and holder.
pub(crate) async fn lock_of(t: &TestAccount, table: &str) -> Option<(String, String)> {
    let item = t
        .dynamodb(DR_REGION)
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S("lease".into()))
        .key("sk", AttributeValue::S("failover#payments".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("the lock")
        .item()
        .cloned()?;
    let text = |name: &str| item[name].as_s().expect("a string").clone();
    Some((text("run"), text("holder")))
}

/// The run's recorded steps named `step`.
fn steps<'a>(status: &'a Value, step: &str) -> Vec<&'a Value> {
    status["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["step"] == step)
        .collect()
}

fn status(t: &TestAccount, run_id: &str) -> Value {
    json_of(&bulwark_with(
        t,
        &[],
        &["failover", "status", run_id, "--format", "json"],
    ))
}

fn confirmed<'a>(config: &'a str, hash: &'a str) -> Vec<&'a str> {
    [execute(config, hash), vec!["--confirm"]].concat()
}

#[tokio::test]
async fn an_abort_that_lands_before_the_end_turns_the_run_back_and_its_driver_puts_back_the_switches(
) {
    // Given an application ready to fail over, and the run's end held as it is written
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    hang_writes(&t, "end", "#end#payments");

    // When the failover runs to its end, every switch written and verified
    let driver = bulwark_spawned(&t, &confirmed(&config, &hash));
    await_hung(t.account.as_str(), "end");
    let (run_id, holder) = lock_of(&t, CLI_TABLE).await.expect("the run's lock");
    assert!(holder.starts_with("process:"), "{holder}");
    let switched = switch_values(&t, &zone).await;
    assert_ne!(switched.0, before.0);
    assert_ne!(switched.1, before.1);

    // Then a resume meanwhile is refused: the driver still runs on this host
    let resume = bulwark_with(
        &t,
        &[],
        &["--config", &config, "failover", "resume", &run_id],
    );
    assert!(!resume.status.success());
    assert!(
        stderr(&resume).contains(&format!("is driven by {holder}, which still runs")),
        "{}",
        stderr(&resume)
    );

    // When an abort is asked before the end lands
    let abort = bulwark_with(
        &t,
        &[],
        &["--config", &config, "failover", "abort", &run_id],
    );
    assert!(abort.status.success(), "{}", stderr(&abort));
    assert!(
        stderr(&abort).contains(&format!("the abort of failover run {run_id} is recorded")),
        "{}",
        stderr(&abort)
    );
    clear_fault(t.account.as_str(), "end");

    // Then the end, written over the run as it read it, loses; the driver reads the abort and
    // puts every switch back, and the run ends aborted, once
    let out = driver.wait_with_output().expect("the driver ends");
    let ended = json_of(&out);
    assert_eq!(ended["run"]["ending"]["outcome"], "aborted", "{ended:#}");
    assert_eq!(switch_values(&t, &zone).await, before);
    let status = status(&t, &run_id);
    let ends = steps(&status, "end");
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert!(
        ends[0]["outcome"]
            .as_str()
            .is_some_and(|o| o.starts_with("every switch put back")),
        "{ends:?}"
    );
    assert_eq!(steps(&status, "revert").len(), 2);
    assert!(lock_of(&t, CLI_TABLE).await.is_none());
}

#[tokio::test]
async fn an_abort_that_loses_the_race_to_the_end_is_refused_and_the_run_stays_succeeded() {
    // Given an application ready to fail over, the run's end and any abort held as written
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    hang_writes(&t, "end", "#end#payments");
    hang_writes(&t, "abort", "#abort#payments");

    // When the failover reaches its end, and an abort reads the run still running
    let driver = bulwark_spawned(&t, &confirmed(&config, &hash));
    await_hung(t.account.as_str(), "end");
    let (run_id, _) = lock_of(&t, CLI_TABLE).await.expect("the run's lock");
    let abort = bulwark_command(
        &t,
        &[],
        &["--config", &config, "failover", "abort", &run_id],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("the abort starts");
    await_hung(t.account.as_str(), "abort");

    // And the end lands first
    clear_fault(t.account.as_str(), "end");
    let ended = json_of(&driver.wait_with_output().expect("the driver ends"));
    assert_eq!(ended["run"]["ending"]["outcome"], "succeeded", "{ended:#}");
    clear_fault(t.account.as_str(), "abort");

    // Then the abort, written over the run as it read it, loses, reads the run succeeded and
    // is refused: the run is not un-ended, and its switches stay on the DR region
    let abort = abort.wait_with_output().expect("the abort ends");
    assert!(!abort.status.success());
    assert!(
        stderr(&abort).contains("succeeded: its way back is a failback"),
        "{}",
        stderr(&abort)
    );
    let status = status(&t, &run_id);
    assert_eq!(status["run"]["ending"]["outcome"], "succeeded");
    assert!(status["run"]["abort_requested"].is_null(), "{status:#}");
    assert!(steps(&status, "abort").is_empty());
    let now = switch_values(&t, &zone).await;
    assert_ne!(now.0, before.0);
    assert_ne!(now.1, before.1);
}

#[tokio::test]
async fn a_driver_gone_silent_on_another_host_is_taken_over_after_its_lease_and_writes_nothing_more(
) {
    // Given an application ready to fail over, and the write recording what its first switch
    // replaces held
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    hang_writes(&t, "switch", "#switch#0000");

    // When the failover is driven from another host (a laptop: its own host name) with a
    // lease of 5 s, held at that write, and the laptop sleeps there (stopped: it renews
    // nothing)
    let args = [confirmed(&config, &hash), vec!["--lease-seconds", "5"]].concat();
    let laptop = bulwark_command(&t, &[], &args);
    let mut on_laptop = std::process::Command::new("unshare");
    on_laptop
        .args([
            "--uts",
            "sh",
            "-c",
            "hostname laptop-a && exec \"$0\" \"$@\"",
        ])
        .arg(laptop.get_program())
        .args(laptop.get_args())
        .envs(
            laptop
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in laptop.get_envs() {
        if v.is_none() {
            on_laptop.env_remove(k);
        }
    }
    let laptop = on_laptop.spawn().expect("the laptop's driver starts");
    await_hung(t.account.as_str(), "switch");
    let (run_id, holder) = lock_of(&t, CLI_TABLE).await.expect("the run's lock");
    assert!(holder.starts_with("process:laptop-a:"), "{holder}");
    let pid = laptop.id().to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    clear_fault(t.account.as_str(), "switch");

    // And the engineer resumes the run from here (held in turn at its second switch's record)
    hang_writes(&t, "second", "#switch#0001");
    let started = std::time::Instant::now();
    let resume = bulwark_command(&t, &[], &resume(&config, &run_id))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the resume starts");
    await_hung(t.account.as_str(), "second");

    // Then the resume waited out the laptop's lease (it cannot look at a process of another
    // host), took the run over and drove it on: the first switch written
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (_, holder) = lock_of(&t, CLI_TABLE).await.expect("the run's lock");
    assert!(!holder.starts_with("process:laptop-a:"), "{holder}");
    assert_ne!(switch_values(&t, &zone).await.0, before.0);

    // When the laptop wakes while the resume holds the run, its held write answered
    let woke = std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .expect("kill runs");
    assert!(woke.success());
    let laptop = laptop.wait_with_output().expect("the laptop's driver ends");

    // Then its write is refused by its check of the lock, and it stops having written nothing
    assert!(!laptop.status.success());
    assert!(
        stderr(&laptop).contains(&format!("no longer drives failover run {run_id}")),
        "{}",
        stderr(&laptop)
    );

    // And the resume drives the run to its end: each store restored once, each switch
    // written once
    clear_fault(t.account.as_str(), "second");
    let resumed = json_of(&resume.wait_with_output().expect("the resume ends"));
    assert_eq!(
        resumed["run"]["ending"]["outcome"], "succeeded",
        "{resumed:#}"
    );
    let status = status(&t, &run_id);
    assert_eq!(steps(&status, "switch").len(), 2, "{status:#}");
    assert_eq!(steps(&status, "resume").len(), 1, "{status:#}");
    let switched = switch_values(&t, &zone).await;
    assert_ne!(switched.0, before.0);
    assert_ne!(switched.1, before.1);
    assert_eq!(restore_jobs(&t).await, 2);
}

#[tokio::test]
async fn a_lock_left_by_an_earlier_version_is_taken_once_its_run_is_not_running() {
    // Given an application ready to fail over, and its lock as an earlier version left it: its
    // holder the run's id, an expiry, no run recorded under that id
    let t = TestAccount::new().await;
    let (config, _, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    t.dynamodb(DR_REGION)
        .put_item()
        .table_name(CLI_TABLE)
        .item("pk", AttributeValue::S("lease".into()))
        .item("sk", AttributeValue::S("failover#payments".into()))
        .item(
            "holder",
            AttributeValue::S("payments-20261101T000000000".into()),
        )
        .item("expires", AttributeValue::N("1893456000".into()))
        .send()
        .await
        .expect("the old lock");

    // When the application is failed over
    let answer = json_of(&bulwark_with(&t, &[], &confirmed(&config, &hash)));

    // Then the lock is taken (its run never ran), and the run succeeds and frees it
    assert_eq!(
        answer["run"]["ending"]["outcome"], "succeeded",
        "{answer:#}"
    );
    assert!(lock_of(&t, CLI_TABLE).await.is_none());
}
