//! Readiness: whether a failover could run now, computed on a schedule for every application
//! and for every store of a tier with a cross-region copy, from the same plans a failover
//! executes. Pure: the plans in, a summary out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Blocker, ExpectedRto, Plan};
use crate::application::{AppName, Application, StoreSelector};
use crate::arn::{Region, ResourceArn};
use crate::duration::Duration;

/// The tier whose stores not ready raise the alarm.
pub const CRITICAL_TIER: &str = "critical";

/// One application's or store's readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The application's name, or the store's ARN.
    pub subject: String,
    /// Stores only: their tier.
    pub tier: Option<String>,
    pub dr_region: Region,
    pub ready: bool,
    /// Every blocker, in words (a store's own; an application's, each with its store or switch).
    pub blockers: Vec<String>,
    /// What the plan warns of without blocking: a switch needing a global control plane, a
    /// check that could not be made.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The most data a failover now would lose (an application: its worst store's).
    pub data_loss: Option<Duration>,
    /// The expected RTO (an application: its slowest store's); None where a store was never
    /// restore-tested.
    pub expected_rto: Option<Duration>,
}

/// Every application's and store's readiness, as of one computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub computed_at: DateTime<Utc>,
    pub applications: Vec<Ready>,
    pub stores: Vec<Ready>,
}

impl Readiness {
    /// The stores of the critical tier that are not ready: what the alarm counts.
    pub fn critical_not_ready(&self) -> Vec<&Ready> {
        self.stores
            .iter()
            .filter(|s| !s.ready && s.tier.as_deref() == Some(CRITICAL_TIER))
            .collect()
    }
}

/// The application whose plan is every store of a region's tiers with a cross-region copy:
/// no switches, the stores by ARN.
pub fn stores_application(
    primary: &Region,
    dr: &Region,
    stores: Vec<ResourceArn>,
) -> Result<Application, String> {
    Ok(Application {
        name: AppName::parse(&format!("stores-{primary}"))?,
        primary_region: primary.clone(),
        dr_region: dr.clone(),
        stores: StoreSelector::Arns(stores),
        max_data_loss: None,
        switches: Vec::new(),
        automatic_failover: None,
    })
}

/// An application's readiness from its plan.
pub fn application_readiness(plan: &Plan) -> Ready {
    let blockers = plan.blockers_said();
    let rtos: Vec<Option<Duration>> = plan.stores.iter().map(|s| rto(s.expected_rto)).collect();
    Ready {
        subject: plan.application.clone(),
        tier: None,
        dr_region: plan.dr_region.clone(),
        ready: plan.ready,
        blockers,
        warnings: plan
            .warnings
            .iter()
            .map(ToString::to_string)
            .chain(plan.stores.iter().filter_map(|s| {
                s.live_replica
                    .as_ref()
                    .map(|r| format!("{}: faster: {r}", s.arn))
            }))
            .collect(),
        data_loss: plan.stores.iter().filter_map(|s| s.data_loss).max(),
        expected_rto: if rtos.iter().all(Option::is_some) {
            rtos.into_iter().flatten().max()
        } else {
            None
        },
    }
}

/// Each store's readiness from a plan of stores.
pub fn store_readiness(plan: &Plan) -> Vec<Ready> {
    plan.stores
        .iter()
        .map(|store| Ready {
            subject: store.arn.to_string(),
            tier: store.tier.clone(),
            dr_region: plan.dr_region.clone(),
            ready: store.blockers.is_empty(),
            blockers: store.blockers.iter().map(Blocker::to_string).collect(),
            warnings: store
                .live_replica
                .iter()
                .map(|r| format!("faster: {r}"))
                .collect(),
            data_loss: store.data_loss,
            expected_rto: rto(store.expected_rto),
        })
        .collect()
}

fn rto(expected: ExpectedRto) -> Option<Duration> {
    match expected {
        ExpectedRto::Measured(d) => Some(d),
        ExpectedRto::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan;
    use super::super::tests::{application, facts, switches, DB, TABLE};
    use super::*;

    #[test]
    fn an_applications_readiness_is_its_plans_with_its_worst_store() {
        let plan = plan(&application(switches()), None, &facts());
        let ready = application_readiness(&plan);
        assert_eq!(ready.subject, "payments");
        assert!(!ready.ready);
        // The table's copy is 5 hours old, past its 4-hour RPO, under a key the DR region
        // cannot use: each blocker is named with its store.
        assert!(ready
            .blockers
            .iter()
            .any(|b| b.starts_with(TABLE) && b.contains("5h")));
        assert_eq!(ready.data_loss, Some(Duration::from_hours(5)));
        // The table was never restore-tested: the application's RTO is unknown.
        assert_eq!(ready.expected_rto, None);
    }

    #[test]
    fn each_stores_readiness_is_its_own_and_critical_ones_not_ready_are_counted() {
        let plan = plan(&application(Vec::new()), None, &facts());
        let stores = store_readiness(&plan);
        let db = stores
            .iter()
            .find(|s| s.subject == DB)
            .expect("the database");
        assert!(db.ready, "{db:?}");
        assert_eq!(db.expected_rto, Some(Duration::from_minutes(45)));
        let table = stores
            .iter()
            .find(|s| s.subject == TABLE)
            .expect("the table");
        assert!(!table.ready);
        let readiness = Readiness {
            computed_at: facts().now,
            applications: Vec::new(),
            stores,
        };
        let not_ready: Vec<&str> = readiness
            .critical_not_ready()
            .iter()
            .map(|s| s.subject.as_str())
            .collect();
        assert_eq!(not_ready, vec![TABLE]);
    }

    #[test]
    fn a_read_replica_live_in_the_dr_region_is_named_as_the_faster_way() {
        // Given the database with a read replica in us-west-2 (the DR region) and one in its
        // own region
        let mut facts = facts();
        let replica = "arn:aws:rds:us-west-2:123456789012:db:orders-db-replica";
        for store in &mut facts.stores {
            if store.arn.to_string() == DB {
                store.replication = Some(crate::replication::Replication {
                    read_replicas: vec!["orders-db-local".into(), replica.into()],
                    ..Default::default()
                });
            }
        }

        // When readiness is computed
        let plan = plan(&application(Vec::new()), None, &facts);
        let stores = store_readiness(&plan);
        let app = application_readiness(&plan);

        // Then the database's readiness names the DR replica, without changing whether it is
        // ready, and the application's names it with its store
        let db = stores
            .iter()
            .find(|s| s.subject == DB)
            .expect("the database");
        assert!(db.ready);
        assert_eq!(db.warnings.len(), 1);
        assert!(db.warnings[0].contains(replica) && db.warnings[0].contains("promoting"));
        assert!(app
            .warnings
            .iter()
            .any(|w| w.starts_with(DB) && w.contains(replica)));
        let table = stores
            .iter()
            .find(|s| s.subject == TABLE)
            .expect("the table");
        assert!(table.warnings.is_empty());
    }

    #[test]
    fn the_stores_application_is_named_by_its_region() {
        let app = stores_application(
            &Region::parse("us-east-1").expect("region"),
            &Region::parse("us-west-2").expect("region"),
            Vec::new(),
        )
        .expect("an application");
        assert_eq!(app.name.as_str(), "stores-us-east-1");
        assert!(app.switches.is_empty());
    }
}
