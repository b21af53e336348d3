//! Legal holds: keeping recovery points past their retention, for as long as a legal matter
//! needs them. Bulwark places AWS Backup legal holds and lists and releases them.
//!
//! One request (`bulwark legal-hold create`) becomes one AWS hold in each account and region
//! that keeps the selected stores' points: the stores' own regions and, for a tier that copies,
//! its DR region (AWS Backup's hold does not travel with a copy). They share a title,
//! `bulwark <key>`, the key a digest of the request, so that running the same request again
//! places nothing twice, and `release <key>` finds them all. A hold takes the points that
//! exist when it is placed; AWS holds never expire, so `--until` is a review date kept in the
//! title, which the report flags once passed. Releasing stays a person's decision.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::arn::{AccountId, Region, ResourceArn};
use crate::asset::{Asset, AssetState};
use crate::config::Config;

/// The prefix of the title of every hold Bulwark places.
pub const TITLE_PREFIX: &str = "bulwark ";

/// What a request holds: every store of a tier, or one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldSelection {
    Tier(String),
    Store(ResourceArn),
}

/// One `legal-hold create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub selection: HoldSelection,
    /// Why: the hold's description in AWS Backup.
    pub reason: String,
    /// When the hold is to be reviewed.
    pub until: Option<NaiveDate>,
}

/// The name a request's holds share: `lh-` and 12 hex digits of the request's digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct HoldKey(String);

impl HoldKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HoldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a request is refused before any call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("a legal hold needs a reason")]
    NoReason,
    #[error("a legal hold's reason is at most {max} characters")]
    ReasonTooLong { max: usize },
    #[error("{0} is not in the inventory: a legal hold is placed on a store Bulwark knows (run `bulwark discover` first)")]
    UnknownStore(String),
    #[error("unknown tier {tier:?}: the configuration defines {known}")]
    UnknownTier { tier: String, known: String },
    #[error("no store is in tier {0}: nothing to hold")]
    EmptyTier(String),
    #[error("no DR region for {region}: {why}")]
    NoDrRegion { region: String, why: String },
    #[error("no active legal hold {0} in reach")]
    NotFound(String),
}

/// The longest reason: AWS Backup's documented description limit is not stated; this keeps
/// the title and description short enough for every listing.
pub const MAX_REASON: usize = 1024;

impl HoldRequest {
    pub fn key(&self) -> HoldKey {
        let mut digest = Sha256::new();
        match &self.selection {
            HoldSelection::Tier(tier) => digest.update(format!("tier\n{tier}\n")),
            HoldSelection::Store(arn) => digest.update(format!("store\n{arn}\n")),
        }
        digest.update(self.reason.trim());
        if let Some(until) = self.until {
            digest.update(format!("\n{until}"));
        }
        HoldKey(format!("lh-{}", &hex::encode(digest.finalize())[..12]))
    }

    /// The title of each of the request's holds: `bulwark <key>`, then `until <date>`.
    pub fn title(&self) -> String {
        match self.until {
            Some(until) => format!("{TITLE_PREFIX}{} until {until}", self.key()),
            None => format!("{TITLE_PREFIX}{}", self.key()),
        }
    }
}

/// The key and review date a Bulwark hold's title carries; `None` for another tool's hold.
pub fn parse_title(title: &str) -> Option<(HoldKey, Option<NaiveDate>)> {
    let rest = title.strip_prefix(TITLE_PREFIX)?;
    let mut words = rest.split(' ');
    let key = words.next().filter(|k| {
        k.len() == 15 && k.starts_with("lh-") && k[3..].bytes().all(|b| b.is_ascii_hexdigit())
    })?;
    let until = match (words.next(), words.next(), words.next()) {
        (None, _, _) => None,
        (Some("until"), Some(date), None) => Some(date.parse().ok()?),
        _ => return None,
    };
    Some((HoldKey(key.to_string()), until))
}

/// One AWS hold to place: in an account and region, on the points of these stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub account: AccountId,
    pub region: Region,
    /// The stores' ARNs (AWS Backup's ResourceIdentifiers; a copy keeps its source's ARN).
    pub stores: Vec<String>,
}

/// Where a request's holds go, from the inventory and the configuration: each selected
/// store's own account and region, and its tier's DR region where the tier copies there.
/// A tier takes its present stores and the gone ones it still kept points of.
pub fn placements(
    config: &Config,
    inventory: &[Asset],
    request: &HoldRequest,
) -> Result<Vec<Placement>, HoldError> {
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(HoldError::NoReason);
    }
    if reason.chars().count() > MAX_REASON {
        return Err(HoldError::ReasonTooLong { max: MAX_REASON });
    }
    let held: Vec<&Asset> = match &request.selection {
        HoldSelection::Store(arn) => {
            let asset = inventory
                .iter()
                .find(|a| a.arn == *arn)
                .ok_or_else(|| HoldError::UnknownStore(arn.to_string()))?;
            vec![asset]
        }
        HoldSelection::Tier(tier) => {
            if config.tier(tier).is_none() {
                let known: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
                return Err(HoldError::UnknownTier {
                    tier: tier.clone(),
                    known: known.join(", "),
                });
            }
            let stores: Vec<&Asset> = inventory
                .iter()
                .filter(|a| matches!(a.state, AssetState::Present | AssetState::Gone))
                .filter(|a| {
                    a.classification
                        .as_ref()
                        .is_some_and(|c| c.backup_required && c.tier.as_deref() == Some(tier))
                })
                .collect();
            if stores.is_empty() {
                return Err(HoldError::EmptyTier(tier.clone()));
            }
            stores
        }
    };
    let mut by_scope: BTreeMap<(AccountId, Region), Vec<String>> = BTreeMap::new();
    for asset in held {
        let mut add = |region: Region| {
            by_scope
                .entry((asset.account.clone(), region))
                .or_default()
                .push(asset.arn.to_string());
        };
        add(asset.region.clone());
        let copies = asset
            .classification
            .as_ref()
            .and_then(|c| c.tier.as_deref())
            .and_then(|t| config.tier(t))
            .is_some_and(|t| t.cross_region_copy);
        if copies {
            let dr = config
                .protection()
                .dr_region_for(asset.region.as_str())
                .and_then(|dr| Region::parse(&dr).map_err(|e| e.to_string()))
                .map_err(|why| HoldError::NoDrRegion {
                    region: asset.region.to_string(),
                    why,
                })?;
            add(dr);
        }
    }
    Ok(by_scope
        .into_iter()
        .map(|((account, region), mut stores)| {
            stores.sort();
            stores.dedup();
            Placement {
                account,
                region,
                stores,
            }
        })
        .collect())
}

/// An AWS Backup legal hold as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    pub id: String,
    pub account: AccountId,
    pub region: Region,
    pub title: String,
    /// Its description: the reason.
    pub reason: String,
    /// CREATING, ACTIVE, CANCELING or CANCELED.
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub cancelled: Option<DateTime<Utc>>,
    /// The recovery points it holds (read for holds that hold).
    pub points: Vec<String>,
}

impl LegalHold {
    /// Whether it keeps its points now: created or being created, not cancelled.
    pub fn holding(&self) -> bool {
        matches!(self.status.as_str(), "CREATING" | "ACTIVE")
    }

    /// The name it goes by: its Bulwark key, or AWS Backup's id for another tool's hold.
    pub fn name(&self) -> String {
        parse_title(&self.title)
            .map(|(key, _)| key.to_string())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// One hold as the report and `legal-hold list` show it: a Bulwark request's holds together,
/// another tool's hold alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldSummary {
    pub name: String,
    pub placed_by_bulwark: bool,
    pub reason: String,
    pub until: Option<NaiveDate>,
    /// Its review date has passed while it still holds.
    pub review_due: bool,
    /// Some of its AWS holds still hold.
    pub holding: bool,
    pub created: Option<DateTime<Utc>>,
    /// `account/region` of each AWS hold.
    pub places: Vec<String>,
    /// The recovery points its holds keep now.
    pub points: usize,
}

/// The report's legal holds: every hold read, and the places whose holds could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HoldReport {
    pub holds: Vec<HoldSummary>,
    /// `account/region: why`.
    pub unread: Vec<String>,
}

impl HoldReport {
    /// One line on them all.
    pub fn line(&self) -> String {
        let holding: Vec<&HoldSummary> = self.holds.iter().filter(|h| h.holding).collect();
        let points: usize = holding.iter().map(|h| h.points).sum();
        let due = holding.iter().filter(|h| h.review_due).count();
        let mut line = format!(
            "{} holding {} recovery point{}",
            holding.len(),
            points,
            if points == 1 { "" } else { "s" }
        );
        if due > 0 {
            line += &format!(", {due} past its review date");
        }
        if !self.unread.is_empty() {
            line += &format!("; not read in {}", self.unread.len());
        }
        line
    }
}

impl HoldSummary {
    /// Its state in a word or two.
    pub fn state(&self) -> &'static str {
        match (self.holding, self.review_due) {
            (true, true) => "holding, review due",
            (true, false) => "holding",
            (false, _) => "released",
        }
    }
}

/// The holds read, grouped by name, holding ones first, then newest first.
pub fn summarize(holds: &[LegalHold], today: NaiveDate) -> Vec<HoldSummary> {
    let mut by_name: BTreeMap<String, Vec<&LegalHold>> = BTreeMap::new();
    for hold in holds {
        by_name.entry(hold.name()).or_default().push(hold);
    }
    let mut out: Vec<HoldSummary> = by_name
        .into_iter()
        .map(|(name, holds)| {
            let first = holds[0];
            let parsed = parse_title(&first.title);
            let until = parsed.as_ref().and_then(|(_, until)| *until);
            let holding = holds.iter().any(|h| h.holding());
            let mut places: Vec<String> = holds
                .iter()
                .map(|h| format!("{}/{}", h.account, h.region))
                .collect();
            places.sort();
            places.dedup();
            HoldSummary {
                name,
                placed_by_bulwark: parsed.is_some(),
                reason: first.reason.clone(),
                until,
                review_due: holding && until.is_some_and(|d| d < today),
                holding,
                created: holds.iter().filter_map(|h| h.created).min(),
                places,
                points: holds
                    .iter()
                    .filter(|h| h.holding())
                    .map(|h| h.points.len())
                    .sum(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.holding
            .cmp(&a.holding)
            .then(b.created.cmp(&a.created))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// The recovery points the holds that hold keep: never "unneeded", whatever their store.
pub fn held_points(holds: &[LegalHold]) -> BTreeSet<String> {
    holds
        .iter()
        .filter(|h| h.holding())
        .flat_map(|h| h.points.iter().cloned())
        .collect()
}

/// The AWS holds `release <name>` cancels: those of a Bulwark key, or the one of an AWS id,
/// that still hold.
pub fn to_release<'a>(holds: &'a [LegalHold], name: &str) -> Result<Vec<&'a LegalHold>, HoldError> {
    let found: Vec<&LegalHold> = holds
        .iter()
        .filter(|h| h.holding() && (h.name() == name || h.id == name))
        .collect();
    if found.is_empty() {
        return Err(HoldError::NotFound(name.to_string()));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::Attributes;
    use crate::classify::Classification;

    fn config() -> Config {
        Config::from_toml_str("test.toml", crate::config::BUILTIN_TOML).expect("a configuration")
    }

    fn store(name: &str, tier: &str, state: AssetState) -> Asset {
        let region = Region::parse("us-east-1").expect("a region");
        let account = AccountId::parse("111122223333").expect("an account");
        let arn = ResourceArn::new(crate::kind::Kind::Dynamodb, "aws", &region, &account, name);
        let mut asset = Asset::observed(
            arn,
            account,
            region,
            BTreeMap::new(),
            Attributes::default(),
            Utc::now(),
        );
        asset.state = state;
        asset.classification = Some(Classification {
            tier: Some(tier.into()),
            backup_required: true,
            reproducible: false,
            rule: "test".into(),
            reasons: Vec::new(),
            unknown_values: Vec::new(),
        });
        asset
    }

    fn request(selection: HoldSelection) -> HoldRequest {
        HoldRequest {
            selection,
            reason: "matter 2026-114".into(),
            until: None,
        }
    }

    #[test]
    fn a_tier_is_held_where_its_stores_are_and_where_their_copies_go() {
        let inventory = vec![
            store("orders", "critical", AssetState::Present),
            store("old-orders", "critical", AssetState::Gone),
            store("logs", "standard", AssetState::Present),
        ];
        let placed = placements(
            &config(),
            &inventory,
            &request(HoldSelection::Tier("critical".into())),
        )
        .expect("placements");
        let held = |region: &str| {
            placed
                .iter()
                .find(|p| p.region.as_str() == region)
                .map(|p| p.stores.len())
        };
        assert_eq!(placed.len(), 2);
        assert_eq!(held("us-east-1"), Some(2));
        assert_eq!(held("us-west-2"), Some(2));

        let standard = placements(
            &config(),
            &inventory,
            &request(HoldSelection::Tier("standard".into())),
        )
        .expect("placements");
        assert_eq!(
            standard.len(),
            1,
            "a tier without copies is held at home only"
        );
    }

    #[test]
    fn an_unknown_store_tier_or_empty_reason_is_refused() {
        let inventory = vec![store("orders", "critical", AssetState::Present)];
        let unknown = ResourceArn::parse("arn:aws:dynamodb:us-east-1:111122223333:table/nope")
            .expect("an ARN");
        assert!(matches!(
            placements(
                &config(),
                &inventory,
                &request(HoldSelection::Store(unknown))
            ),
            Err(HoldError::UnknownStore(_))
        ));
        assert!(matches!(
            placements(
                &config(),
                &inventory,
                &request(HoldSelection::Tier("gold".into()))
            ),
            Err(HoldError::UnknownTier { .. })
        ));
        assert_eq!(
            placements(
                &config(),
                &inventory,
                &request(HoldSelection::Tier("standard".into()))
            ),
            Err(HoldError::EmptyTier("standard".into()))
        );
        let mut blank = request(HoldSelection::Tier("critical".into()));
        blank.reason = "  ".into();
        assert_eq!(
            placements(&config(), &inventory, &blank),
            Err(HoldError::NoReason)
        );
    }

    #[test]
    fn the_title_carries_the_key_and_review_date_back() {
        let mut held = request(HoldSelection::Tier("critical".into()));
        held.until = NaiveDate::from_ymd_opt(2027, 6, 30);
        let title = held.title();
        assert_eq!(parse_title(&title), Some((held.key(), held.until)));
        assert_ne!(
            held.key(),
            request(HoldSelection::Tier("critical".into())).key()
        );
        assert_eq!(parse_title("bulwark lh-zz"), None);
        assert_eq!(parse_title("Q3 litigation"), None);
    }

    fn hold(title: &str, region: &str, status: &str, points: usize) -> LegalHold {
        LegalHold {
            id: format!("id-{region}-{status}"),
            account: AccountId::parse("111122223333").expect("an account"),
            region: Region::parse(region).expect("a region"),
            title: title.into(),
            reason: "matter".into(),
            status: status.into(),
            created: None,
            cancelled: None,
            points: (0..points).map(|i| format!("point-{i}")).collect(),
        }
    }

    #[test]
    fn a_requests_holds_are_one_summary_and_a_passed_review_date_is_due() {
        let mut held = request(HoldSelection::Tier("critical".into()));
        held.until = NaiveDate::from_ymd_opt(2026, 12, 1);
        let title = held.title();
        let holds = vec![
            hold(&title, "us-east-1", "ACTIVE", 3),
            hold(&title, "us-west-2", "ACTIVE", 2),
            hold("someone else's", "us-east-1", "CANCELED", 4),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date");
        let summaries = summarize(&holds, today);
        assert_eq!(summaries.len(), 2);
        let ours = &summaries[0];
        assert_eq!(ours.name, held.key().to_string());
        assert!(ours.placed_by_bulwark && ours.holding && ours.review_due);
        assert_eq!(ours.points, 5);
        assert_eq!(ours.places.len(), 2);
        assert!(!summaries[1].holding);
        assert_eq!(summaries[1].points, 0, "a cancelled hold keeps nothing");

        assert_eq!(
            to_release(&holds, held.key().as_str()).map(|h| h.len()),
            Ok(2)
        );
        assert_eq!(
            to_release(&holds, "id-us-east-1-CANCELED").map(|h| h.len()),
            Err(HoldError::NotFound("id-us-east-1-CANCELED".into()))
        );
    }
}
