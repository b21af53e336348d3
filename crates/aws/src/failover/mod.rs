//! Failover's adapters: the facts a plan is computed from (`facts`); a run's record and the
//! application's lock in the state table (`record`); its steps on stores and switches
//! (`steps`, `switches`); and the run from request to end (`execute`).

pub mod execute;
pub mod facts;
pub mod record;
pub mod steps;
pub mod switches;
