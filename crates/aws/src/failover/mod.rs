//! Failover's adapters: the facts a plan is computed from (`facts`); a run's record and the
//! application's lock in the state table (`record`, `lock`); its steps on stores and switches
//! (`steps`, `switches`); the run from request to end (`execute`); readiness, every
//! application's and copied store's plan on a schedule (`readiness`); and the failover an
//! alarm starts (`automatic`). A new run takes the stores an earlier failed or aborted run of
//! its plan restored (`adopt`).

pub mod adopt;
pub mod automatic;
mod chain;
pub mod execute;
pub mod facts;
pub mod lock;
pub mod readiness;
pub mod record;
pub mod steps;
pub mod switches;
