//! Failover's adapters: the facts a failover plan is computed from, and the actions it takes.
//! So far the switches (Route 53 records and SSM parameters).

pub mod switches;
