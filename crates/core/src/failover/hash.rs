//! The plan's hash: what an engineer approves by quoting it. It covers everything that decides
//! what an execution does (which copy each store restores, under which name and metadata, what
//! blocks it; what each switch holds now and will be given) and nothing that drifts by the
//! second (the time, the data loss), so that the same state of the world gives the same hash
//! and any change to it a different one.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::model::{Blocker, Plan, PlanHash, PlanHashMismatch, Serving};
use crate::application::SwitchTarget;
use crate::duration::Duration;

/// Hashed before the canonical form: a change of that form is a new version, never a quiet
/// collision with an old one.
const DOMAIN: &str = "bulwark failover plan v1";

#[derive(Serialize)]
struct Canonical<'a> {
    application: &'a str,
    primary_region: &'a str,
    dr_region: &'a str,
    /// Absent when none was accepted, so that plans hashed before the field keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted_data_loss: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recover_before: Option<String>,
    /// `--point newest`; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    newest_point: bool,
    blockers: Vec<Blocker>,
    stores: Vec<CanonicalStore<'a>>,
    switches: Vec<CanonicalSwitch<'a>>,
}

#[derive(Serialize)]
struct CanonicalStore<'a> {
    arn: String,
    copy: Option<&'a str>,
    restored_name: &'a str,
    restore_metadata: &'a BTreeMap<String, String>,
    blockers: Vec<Blocker>,
    /// Judged alone: absent for a store that is there, so that plans hashed before the field
    /// keep their hash.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    source_gone: bool,
    /// An Aurora cluster's; absent for the other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    serving: Option<&'a Serving>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct CanonicalSwitch<'a> {
    target: &'a SwitchTarget,
    ttl: Option<u32>,
    current: Option<&'a str>,
    template: String,
    blockers: Vec<Blocker>,
}

/// A blocker without what drifts: a copy too old stays the same blocker as it ages.
fn steady(blockers: &[Blocker]) -> Vec<Blocker> {
    blockers
        .iter()
        .map(|blocker| match blocker {
            Blocker::CopyTooOld { limit, .. } => Blocker::CopyTooOld {
                age: Duration::ZERO,
                limit: *limit,
            },
            // The error's words vary from one attempt to the next; the blocker does not.
            Blocker::SwitchUnreadable { .. } => Blocker::SwitchUnreadable {
                error: String::new(),
            },
            other => other.clone(),
        })
        .collect()
}

/// The JSON the hash is taken over: structs in declaration order, maps ordered, lists in the
/// plan's order (stores by ARN, switches as configured).
pub(super) fn canonical_form(plan: &Plan) -> String {
    let canonical = Canonical {
        application: &plan.application,
        primary_region: plan.primary_region.as_str(),
        dr_region: plan.dr_region.as_str(),
        accepted_data_loss: plan.accepted_data_loss,
        recover_before: plan.recover_before.map(|t| t.to_rfc3339()),
        newest_point: plan.newest_point,
        blockers: steady(&plan.blockers),
        stores: plan
            .stores
            .iter()
            .map(|store| CanonicalStore {
                arn: store.arn.to_string(),
                copy: store.copy.as_ref().map(|c| c.recovery_point_arn.as_str()),
                restored_name: &store.restored_name,
                restore_metadata: &store.restore_metadata,
                blockers: steady(&store.blockers),
                source_gone: store.source_gone_at.is_some(),
                serving: store.serving.as_ref(),
                tags: &store.tags,
            })
            .collect(),
        switches: plan
            .switches
            .iter()
            .map(|switch| CanonicalSwitch {
                target: &switch.target,
                ttl: switch.ttl,
                current: switch.current.as_deref(),
                template: switch.template.to_string(),
                blockers: steady(&switch.blockers),
            })
            .collect(),
    };
    serde_json::to_string(&canonical).expect("strings, numbers and string-keyed maps serialize")
}

/// The hash of `plan` (its own `hash` field aside).
pub(super) fn hash_of(plan: &Plan) -> PlanHash {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN.as_bytes());
    hasher.update([0u8]);
    hasher.update(canonical_form(plan).as_bytes());
    PlanHash(hex::encode(hasher.finalize()))
}

/// Whether `given` (the whole hash or its 16-digit short form, in either case) is the hash of
/// `plan`, the plan recomputed just before an execution: anything else refuses it.
pub fn verify(plan: &Plan, given: &str) -> Result<(), PlanHashMismatch> {
    let given = given.trim();
    let lower = given.to_ascii_lowercase();
    let matches = lower == plan.hash.as_str()
        || (lower.len() == PlanHash::SHORT && lower == plan.hash.short());
    if matches {
        Ok(())
    } else {
        Err(PlanHashMismatch {
            given: given.to_string(),
            current: plan.hash.short().to_string(),
        })
    }
}
