//! Integration tests against the local AWS (`make test` starts it). One test binary; each
//! test isolated in an AWS account of its own.

mod alerts_deployed;
mod backup;
mod central_backup;
mod cli;
mod config_rule;
mod deployed;
mod discovery;
mod discovery_config;
mod failover;
mod failover_deployed;
mod failover_drivers;
mod failover_kinds;
mod failover_member;
mod failover_outage;
mod failover_recover;
mod failover_run;
mod failover_switches;
mod harness;
mod iam;
mod legal_holds;
mod org_policies;
mod policy;
mod restore;
mod restore_aurora;
mod restore_coverage;
mod restore_deployed;
mod restore_dr;
mod restore_member;
mod restore_runs;
mod s3_replication;
mod seed;
mod template;
