//! A failover an alarm starts (seed 002's automated failover, for the critical services that
//! opt in with `automatic_failover`). When an alarm enters ALARM, each application naming it is
//! decided here over its facts, read once: its plan as it is now, the run holding its lock,
//! and its last succeeded run. Only a ready plan starts, under its hash, as the failover state
//! machine's execution; every other outcome starts nothing and is said to the alert topic.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Plan, Run};
use crate::application::{AlarmArn, Application};

/// The state an alarm must enter to start a failover.
pub const ALARM_STATE: &str = "ALARM";

/// One alarm's state change, as its EventBridge event says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmFired {
    pub alarm: AlarmArn,
    /// The state entered: `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// CloudWatch's reason for the change (`state.reason`).
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The event's id: the same change delivered twice starts one execution.
    pub event_id: String,
}

/// What an alarm's change does to one application that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start the failover state machine with this input, as this execution.
    Start(Start),
    /// Start nothing, for this reason.
    Hold(Held),
}

/// A failover's start: the state machine's input (`Begin`'s request) and the execution's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub application: String,
    pub plan_hash: String,
    /// The alarm's ARN: who asked.
    pub requested_by: String,
    pub reason: String,
    pub primary_down: bool,
    pub execution_name: String,
}

/// Why an alarm started nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// The alarm entered another state than ALARM.
    NotInAlarm { state: String },
    /// The plan has blockers: each, said.
    NotReady { blockers: Vec<String> },
    /// A run of the application has not ended (the run its lock names).
    RunNotEnded { run: String },
    /// The application's last succeeded run failed it over, and no failback has ended it since:
    /// it already runs from its DR region.
    FailedOver { run: String },
}

/// The applications that opted in to a failover started by `alarm`.
pub fn opted_in<'a>(
    applications: &'a [Application],
    alarm: &'a AlarmArn,
) -> impl Iterator<Item = &'a Application> + 'a {
    applications.iter().filter(move |app| {
        app.automatic_failover
            .as_ref()
            .is_some_and(|a| &a.alarm == alarm)
    })
}

/// What `fired` does to `app` (one that named its alarm), over its plan now, the run its lock
/// names if that run has not ended, and its last succeeded run.
pub fn decide(
    app: &Application,
    fired: &AlarmFired,
    plan: &Plan,
    unended_run: Option<&str>,
    last_succeeded: Option<&Run>,
) -> Decision {
    if fired.state != ALARM_STATE {
        return Decision::Hold(Held::NotInAlarm {
            state: fired.state.clone(),
        });
    }
    if let Some(run) = unended_run {
        return Decision::Hold(Held::RunNotEnded {
            run: run.to_string(),
        });
    }
    let failed_over =
        last_succeeded.filter(|run| run.failback_of.is_none() && run.plan.recover_before.is_none());
    if let Some(run) = failed_over {
        return Decision::Hold(Held::FailedOver {
            run: run.id.to_string(),
        });
    }
    if !plan.ready {
        return Decision::Hold(Held::NotReady {
            blockers: plan.blockers_said(),
        });
    }
    let primary_down = app
        .automatic_failover
        .as_ref()
        .is_some_and(|a| a.primary_down);
    let mut reason = format!(
        "CloudWatch alarm {} entered ALARM at {}",
        fired.alarm.name(),
        fired.at.to_rfc3339()
    );
    if !fired.reason.trim().is_empty() {
        reason.push_str(": ");
        reason.extend(fired.reason.chars().take(300));
    }
    Decision::Start(Start {
        application: app.name.to_string(),
        plan_hash: plan.hash.as_str().to_string(),
        requested_by: fired.alarm.to_string(),
        reason,
        primary_down,
        execution_name: execution_name(app.name.as_str(), &fired.event_id),
    })
}

/// The execution an alarm's event starts for `app`: the same event, delivered again, names the
/// same execution, which Step Functions starts once. At most 80 characters of
/// `[A-Za-z0-9-_]`, as StartExecution's `name` allows (an application's name is of those).
pub fn execution_name(app: &str, event_id: &str) -> String {
    let digest = Sha256::digest(format!("{app}\n{event_id}").as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let app: String = app.chars().take(50).collect();
    format!("{app}-alarm-{short}")
}

/// What the alert topic is told: a subject (at most 100 characters, as SNS allows) and a
/// message.
pub fn notice(
    app: &str,
    fired: &AlarmFired,
    decision: &Decision,
    execution: Option<&str>,
) -> (String, String) {
    let alarm = fired.alarm.name();
    let (subject, what) = match decision {
        Decision::Start(start) => (
            format!("Bulwark automatic failover of {app} started"),
            format!(
                "Alarm {alarm} started the failover of {app} under plan {}, as execution {}.\n\
                 Follow it with `bulwark failover status`; `bulwark failover abort` puts its \
                 switches back.",
                start.plan_hash,
                execution.unwrap_or(&start.execution_name)
            ),
        ),
        Decision::Hold(held) => {
            let why = match held {
                Held::NotInAlarm { state } => format!("the alarm entered {state}, not ALARM"),
                Held::NotReady { blockers } => format!(
                    "its plan is not ready ({} blocker(s)):\n- {}\n\nRead it with `bulwark \
                     failover plan --app {app}`",
                    blockers.len(),
                    blockers.join("\n- ")
                ),
                Held::RunNotEnded { run } => format!("run {run} of {app} has not ended"),
                Held::FailedOver { run } => {
                    format!("{app} already runs from its DR region (run {run})")
                }
            };
            (
                format!("Bulwark automatic failover of {app} NOT started"),
                format!("Alarm {alarm} did not start the failover of {app}: {why}."),
            )
        }
    };
    let subject = subject.chars().take(100).collect();
    let message = format!(
        "{what}\n\nAlarm {} entered {} at {} (event {}): {}",
        fired.alarm,
        fired.state,
        fired.at.to_rfc3339(),
        fired.event_id,
        fired.reason
    );
    (subject, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::AutomaticFailover;
    use crate::failover::tests::{application, plan_of_blocked, plan_of_ready};

    fn fired(state: &str) -> AlarmFired {
        AlarmFired {
            alarm: AlarmArn::parse("arn:aws:cloudwatch:us-west-2:123456789012:alarm:payments-down")
                .expect("alarm"),
            state: state.into(),
            reason: "Threshold Crossed: 3 datapoints were greater than 0".into(),
            at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
                .expect("time")
                .with_timezone(&Utc),
            event_id: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92".into(),
        }
    }

    fn opted(primary_down: bool) -> Application {
        Application {
            automatic_failover: Some(AutomaticFailover {
                alarm: fired(ALARM_STATE).alarm,
                primary_down,
            }),
            ..application(Vec::new())
        }
    }

    #[test]
    fn only_the_applications_naming_the_alarm_opted_in() {
        let other = Application {
            automatic_failover: Some(AutomaticFailover {
                alarm: AlarmArn::parse("arn:aws:cloudwatch:us-west-2:123456789012:alarm:other")
                    .expect("alarm"),
                primary_down: false,
            }),
            ..application(Vec::new())
        };
        let apps = [application(Vec::new()), opted(false), other];
        let alarm = fired(ALARM_STATE).alarm;
        let named: Vec<&Application> = opted_in(&apps, &alarm).collect();
        assert_eq!(named, [&apps[1]]);
    }

    #[test]
    fn a_ready_plan_starts_under_its_hash_asked_by_the_alarm() {
        let app = opted(true);
        let plan = plan_of_ready(&app);
        let Decision::Start(start) = decide(&app, &fired(ALARM_STATE), &plan, None, None) else {
            panic!("a ready plan starts");
        };
        assert_eq!(start.plan_hash, plan.hash.as_str());
        assert_eq!(
            start.requested_by,
            "arn:aws:cloudwatch:us-west-2:123456789012:alarm:payments-down"
        );
        assert!(
            start
                .reason
                .starts_with("CloudWatch alarm payments-down entered ALARM at 2026-12-07T10:00:00"),
            "{}",
            start.reason
        );
        assert!(start.reason.ends_with("greater than 0"), "{}", start.reason);
        assert!(start.primary_down);
        assert!(!decide_start(&opted(false), &plan).primary_down);
    }

    fn decide_start(app: &Application, plan: &Plan) -> Start {
        match decide(app, &fired(ALARM_STATE), plan, None, None) {
            Decision::Start(start) => start,
            held => panic!("{held:?}"),
        }
    }

    #[test]
    fn a_blocked_plan_an_unended_run_a_failover_done_or_another_state_start_nothing() {
        let app = opted(false);
        let ready = plan_of_ready(&app);
        assert_eq!(
            decide(&app, &fired("OK"), &ready, None, None),
            Decision::Hold(Held::NotInAlarm { state: "OK".into() })
        );
        let blocked = plan_of_blocked(&app);
        let Decision::Hold(Held::NotReady { blockers }) =
            decide(&app, &fired(ALARM_STATE), &blocked, None, None)
        else {
            panic!("a blocked plan holds");
        };
        assert!(!blockers.is_empty());
        assert!(blockers.iter().all(|b| !b.is_empty()));
        assert_eq!(
            decide(
                &app,
                &fired(ALARM_STATE),
                &ready,
                Some("payments-20261207T095900000"),
                None
            ),
            Decision::Hold(Held::RunNotEnded {
                run: "payments-20261207T095900000".into()
            })
        );
        // A failover that succeeded: the application runs from its DR region already.
        let now = fired(ALARM_STATE).at;
        let failover = Run::new(ready.clone(), "on-call", "us-east-1 down", now, &app.name);
        assert_eq!(
            decide(&app, &fired(ALARM_STATE), &ready, None, Some(&failover)),
            Decision::Hold(Held::FailedOver {
                run: failover.id.to_string()
            })
        );
        // Its failback came home since: a new failover may start.
        let failback = Run {
            failback_of: Some(failover.id.clone()),
            ..failover.clone()
        };
        assert!(matches!(
            decide(&app, &fired(ALARM_STATE), &ready, None, Some(&failback)),
            Decision::Start(_)
        ));
    }

    #[test]
    fn one_event_names_one_execution_as_step_functions_allows() {
        let long = "a".repeat(64);
        let name = execution_name(&long, "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92");
        assert!(name.len() <= 80, "{name}");
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            name,
            execution_name(&long, "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92")
        );
        assert_ne!(name, execution_name(&long, "another event"));
        assert_ne!(
            execution_name("payments", "e"),
            execution_name("ledger", "e")
        );
    }

    #[test]
    fn the_notice_says_what_started_or_why_not() {
        let app = opted(false);
        let fired = fired(ALARM_STATE);
        let start = decide(&app, &fired, &plan_of_ready(&app), None, None);
        let (subject, message) = notice("payments", &fired, &start, Some("arn:exec"));
        assert_eq!(subject, "Bulwark automatic failover of payments started");
        assert!(message.contains("as execution arn:exec"), "{message}");
        let held = decide(&app, &fired, &plan_of_blocked(&app), None, None);
        let (subject, message) = notice("payments", &fired, &held, None);
        assert_eq!(
            subject,
            "Bulwark automatic failover of payments NOT started"
        );
        assert!(message.contains("its plan is not ready"), "{message}");
        assert!(subject.len() <= 100);
    }
}
