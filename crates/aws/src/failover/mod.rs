//! Failover's adapters: the facts a failover plan is computed from (`facts`), and the actions
//! it takes. So far the switches (Route 53 records and SSM parameters).

pub mod facts;
pub mod switches;
