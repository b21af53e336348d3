//! How the CLI prints: tables for people (in one style, shared with the report), JSON and CSV
//! for programs.

use std::collections::BTreeMap;

use anyhow::Result;
use bulwark_aws::ops::{ClassifySummary, DiscoverSummary};
use bulwark_aws::restore::Origin;
use bulwark_core::{Asset, AssetState, Classification, UnknownValue};
use clap::ValueEnum;
use comfy_table::{presets, CellAlignment, ColumnConstraint, Table, Width};
use serde::Serialize;

mod failover;

pub use failover::{print_failover_plan, print_failover_run, print_readiness};

/// A table in the CLI's one style: ASCII rules, which read the same in a terminal, a pipe and a
/// file. Never coloured, and not fitted to a terminal's width: a long ARN stays on one line
/// unless the caller bounds its column.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::ASCII_FULL_CONDENSED)
        .set_header(header);
    table
}

/// Right-aligns the columns from `first` on: they hold numbers.
pub fn align_numbers(table: &mut Table, first: usize) {
    for column in table.column_iter_mut().skip(first) {
        column.set_cell_alignment(CellAlignment::Right);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// One asset as `inventory` and `explain` print it.
#[derive(Debug, Clone, Serialize)]
pub struct AssetRow {
    pub arn: String,
    pub kind: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// None when not backed up (or not classified yet: see `classified`).
    pub tier: Option<String>,
    pub backup_required: Option<bool>,
    pub reproducible: Option<bool>,
    pub rule: Option<String>,
    pub reasons: Vec<String>,
    pub unknown_values: Vec<UnknownValue>,
    pub classified: bool,
    pub state: AssetState,
    pub first_seen: String,
    pub last_seen: String,
    pub gone_at: Option<String>,
    pub size_bytes: Option<u64>,
    pub encrypted: Option<bool>,
}

impl AssetRow {
    pub fn apply(&mut self, c: &Classification) {
        self.tier = c.tier.clone();
        self.backup_required = Some(c.backup_required);
        self.reproducible = Some(c.reproducible);
        self.rule = Some(c.rule.clone());
        self.reasons = c.reasons.clone();
        self.unknown_values = c.unknown_values.clone();
        self.classified = true;
    }
}

impl From<&Asset> for AssetRow {
    fn from(a: &Asset) -> Self {
        let mut row = AssetRow {
            arn: a.arn.to_string(),
            kind: a.kind.to_string(),
            account: a.account.to_string(),
            region: a.region.to_string(),
            name: a.name.clone(),
            tags: a.tags.clone(),
            tier: None,
            backup_required: None,
            reproducible: None,
            rule: None,
            reasons: vec![],
            unknown_values: vec![],
            classified: false,
            state: a.state,
            first_seen: a.first_seen.to_rfc3339(),
            last_seen: a.last_seen.to_rfc3339(),
            gone_at: a.gone_at.map(|t| t.to_rfc3339()),
            size_bytes: a.attributes.size_bytes,
            encrypted: a.attributes.encrypted,
        };
        if let Some(c) = &a.classification {
            row.apply(c);
        }
        row
    }
}

fn tier_label(row: &AssetRow) -> String {
    match (&row.tier, row.classified, row.reproducible) {
        (Some(t), _, _) => t.clone(),
        (None, false, _) => "(unclassified)".into(),
        (None, true, Some(true)) => "none (reproducible)".into(),
        (None, true, _) => "none".into(),
    }
}

fn unknown_label(values: &[UnknownValue]) -> String {
    values
        .iter()
        .map(|u| format!("{}={:?}", u.key, u.value))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn print_inventory(rows: &[AssetRow], format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(rows)?),
        Format::Csv => {
            let mut out = csv::Writer::from_writer(std::io::stdout());
            out.write_record([
                "arn",
                "kind",
                "account",
                "region",
                "name",
                "tier",
                "backup_required",
                "reproducible",
                "rule",
                "reasons",
                "unknown_values",
                "state",
                "tags",
            ])?;
            for r in rows {
                let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
                out.write_record([
                    r.arn.as_str(),
                    r.kind.as_str(),
                    r.account.as_str(),
                    r.region.as_str(),
                    r.name.as_str(),
                    r.tier.as_deref().unwrap_or(""),
                    &flag(r.backup_required),
                    &flag(r.reproducible),
                    r.rule.as_deref().unwrap_or(""),
                    &r.reasons.join("; "),
                    &unknown_label(&r.unknown_values),
                    if r.state == AssetState::Present {
                        "present"
                    } else {
                        "gone"
                    },
                    &serde_json::to_string(&r.tags)?,
                ])?;
            }
            out.flush()?;
        }
        Format::Table => {
            let mut by_tier: BTreeMap<String, Vec<&AssetRow>> = BTreeMap::new();
            for r in rows {
                by_tier.entry(tier_label(r)).or_default().push(r);
            }
            for (tier, rows) in &by_tier {
                println!("\n== {tier} ({} stores)", rows.len());
                let mut table = table(&["kind", "region", "name", "why"]);
                for r in rows {
                    let mut why = r.reasons.last().cloned().unwrap_or_default();
                    if r.state == AssetState::Gone {
                        why.push_str(" [gone]");
                    }
                    if !r.unknown_values.is_empty() {
                        why = format!("{why}\nunknown value: {}", unknown_label(&r.unknown_values));
                    }
                    table.add_row([&r.kind, &r.region, &r.name, &why]);
                }
                println!("{table}");
            }
            println!("\n{} stores", rows.len());
        }
    }
    Ok(())
}

pub fn print_discover(s: &DiscoverSummary) {
    println!(
        "discovered {} stores in {} account/region scopes: {} records written, {} unchanged, {} marked gone",
        s.seen,
        s.scopes.len(),
        s.written,
        s.unchanged,
        s.marked_gone
    );
    let total: u64 = s.calls.values().sum();
    println!("AWS API calls: {total}");
    let mut calls = table(&["operation", "calls"]);
    for (op, n) in &s.calls {
        calls.add_row([op.to_string(), n.to_string()]);
    }
    align_numbers(&mut calls, 1);
    if !calls.is_empty() {
        println!("{calls}");
    }
    print_config_coverage(s);
    for f in &s.failures {
        let region = f.region.as_ref().map_or("every region", |r| r.as_str());
        let kind = f.kind.map(|k| format!(" {k}")).unwrap_or_default();
        println!(
            "FAILED {}/{region}{kind}: {}{}",
            f.account,
            f.error,
            if f.retryable { " (retryable)" } else { "" }
        );
    }
}

/// Which scopes AWS Config gave, which kinds, and why a scope was listed instead: only when
/// the sweep read Config.
fn print_config_coverage(s: &DiscoverSummary) {
    if s.from_config.is_empty() && s.config_fallbacks.is_empty() {
        return;
    }
    let mut kinds: BTreeMap<String, Vec<bulwark_core::Kind>> = BTreeMap::new();
    for given in &s.from_config {
        kinds
            .entry(given.scope.to_string())
            .or_default()
            .push(given.kind);
    }
    let names = |kinds: &mut dyn Iterator<Item = &bulwark_core::Kind>| {
        kinds
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fallbacks: BTreeMap<String, &str> = s
        .config_fallbacks
        .iter()
        .filter_map(|f| {
            Some((
                format!("{}/{}", f.account, f.region.as_ref()?),
                f.error.as_str(),
            ))
        })
        .collect();
    let mut coverage = table(&["scope", "from AWS Config", "listed", "why listed"]);
    for scope in &s.scopes {
        let scope = scope.to_string();
        let given = kinds.get(&scope).cloned().unwrap_or_default();
        let listed = names(
            &mut bulwark_core::Kind::ALL
                .iter()
                .filter(|k| !given.contains(k)),
        );
        let why = match fallbacks.get(&scope) {
            Some(why) => why.to_string(),
            None => "not recorded here, or EFS (no size or state in its item)".to_string(),
        };
        coverage.add_row([scope, names(&mut given.iter()), listed, why]);
    }
    println!("{coverage}");
}

pub fn print_classify(s: &ClassifySummary) {
    println!(
        "classified {} stores: {} records written, {} unchanged, {} with unknown tag values",
        s.classified, s.written, s.unchanged, s.with_unknown_values
    );
    if s.by_tier.is_empty() {
        return;
    }
    let mut tiers = table(&["tier", "stores"]);
    for (tier, n) in &s.by_tier {
        tiers.add_row([tier.to_string(), n.to_string()]);
    }
    align_numbers(&mut tiers, 1);
    println!("{tiers}");
}

pub fn print_explain(asset: &Asset, c: &Classification) {
    println!("{}", asset.arn);
    println!("  kind:    {}", asset.kind);
    println!("  where:   {}/{}", asset.account, asset.region);
    println!("  state:   {:?}", asset.state);
    if asset.tags.is_empty() {
        println!("  tags:    (none)");
    } else {
        println!("  tags:");
        for (k, v) in &asset.tags {
            println!("    {k:?} = {v:?}");
        }
    }
    match &c.tier {
        Some(tier) => println!("  tier:    {tier}"),
        None if c.reproducible => println!("  tier:    none: reproducible, not backed up"),
        None => println!("  tier:    none: not backed up"),
    }
    println!("  rule:    {}", c.rule);
    for reason in &c.reasons {
        println!("  because: {reason}");
    }
    for u in &c.unknown_values {
        println!(
            "  unknown: {}={:?} matched no rule's values",
            u.key, u.value
        );
    }
}

pub fn print_policy(r: &bulwark_aws::assign::PolicyReport) {
    let verb = if r.applied { "applied" } else { "would apply" };
    for scope in &r.scopes {
        let name = scope
            .scope
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        println!(
            "{name}: {verb} {} AWS Backup changes, {} tier tags, {} native protections",
            scope.backup_actions.len(),
            scope.tag_changes.len(),
            scope.native_actions.len()
        );
        let mut changes = table(&["change", "what"]);
        for action in &scope.backup_actions {
            changes.add_row(["AWS Backup".to_string(), describe(action)]);
        }
        for change in scope.tag_changes.iter().take(20) {
            changes.add_row(match &change.tier {
                Some(tier) => [
                    "tag".to_string(),
                    format!("{} bulwark:tier={tier}", change.arn),
                ],
                None => ["untag".to_string(), format!("{} bulwark:tier", change.arn)],
            });
        }
        if scope.tag_changes.len() > 20 {
            changes.add_row([
                "tag".to_string(),
                format!("… and {} more tag changes", scope.tag_changes.len() - 20),
            ]);
        }
        for action in scope.native_actions.iter().take(20) {
            changes.add_row(["native".to_string(), describe_native(action)]);
        }
        if scope.native_actions.len() > 20 {
            changes.add_row([
                "native".to_string(),
                format!(
                    "… and {} more native protections",
                    scope.native_actions.len() - 20
                ),
            ]);
        }
        if !changes.is_empty() {
            // A selection lists every resource pattern: wrapped (at spaces), it does not widen
            // every other row to its length.
            if let Some(what) = changes.column_mut(1) {
                what.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(100)));
            }
            println!("{changes}");
        }
        for caution in &scope.cautions {
            println!("  ! {caution}");
        }
        for drift in &scope.unreconciled {
            println!("  not Bulwark's to change: {drift}");
        }
    }
    for f in &r.failures {
        println!(
            "FAILED {}/{}: {}{}",
            f.account,
            f.region,
            f.error,
            if f.retryable { " (retryable)" } else { "" }
        );
    }
    for warning in &r.warnings {
        println!("warning: {warning}");
    }
    let added = &r.added_cost;
    if added.stores > 0 {
        let unknown = if added.unknown_size > 0 {
            format!("; {} of unknown size not counted", added.unknown_size)
        } else {
            String::new()
        };
        println!(
            "Backup storage this adds: at least {} a month; stores newly under a tier: {} (each \
             kept once at its size, twice where its tier copies to the DR region){unknown}",
            added.usd_month, added.stores
        );
    }
    let total: u64 = r.calls.values().sum();
    println!(
        "{} changes; AWS API calls: {total}, of which mutating: {}",
        r.changes(),
        r.mutating_calls
    );
}

fn describe(action: &bulwark_core::protection::Action) -> String {
    use bulwark_core::protection::Action;
    match action {
        Action::CreateVault(v) => format!(
            "create vault {} in {} (key {})",
            v.name, v.region, v.kms_key_alias
        ),
        Action::PutVaultLock {
            region,
            vault,
            lock,
        } => format!(
            "lock vault {vault} in {region}: {} mode, {}..{} days",
            if lock.changeable_for_days.is_some() {
                "compliance"
            } else {
                "governance"
            },
            lock.min_retention_days,
            lock.max_retention_days
                .map(|d| d.to_string())
                .unwrap_or_else(|| "unbounded".into())
        ),
        Action::PutVaultAccessPolicy { region, vault, .. } => {
            format!("set vault {vault}'s access policy in {region} (deny DeleteRecoveryPoint but to admins)")
        }
        Action::CreatePlan(p) => format!("create plan {} ({} rules)", p.name, p.rules.len()),
        Action::UpdatePlan(p) => format!("update plan {} to its tier's rules", p.name),
        Action::CreateSelection(s) => format!(
            "select for {}: {} where {}",
            s.plan_name,
            s.resources.join(" "),
            s.conditions
                .iter()
                .map(|c| format!("{}={}", c.key, c.value))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        Action::DeleteSelection { plan_name, name } => {
            format!("delete selection {name} of {plan_name}")
        }
    }
}

fn describe_native(action: &bulwark_core::protection::NativeAction) -> String {
    use bulwark_core::protection::NativeAction;
    match action {
        NativeAction::EnablePitr { table, .. } => {
            format!("enable point-in-time recovery on table {table}")
        }
        NativeAction::EnableVersioning { bucket, .. } => {
            format!("enable versioning on bucket {bucket}")
        }
        NativeAction::PutNoncurrentRule { bucket, rule, .. } => {
            let mut steps = Vec::new();
            if let Some(t) = &rule.transition {
                steps.push(format!(
                    "to {} after {} days",
                    t.storage_class, t.after_days
                ));
            }
            if let Some(days) = rule.expire_after_days {
                steps.push(format!("expired after {days} days"));
            }
            format!(
                "put the lifecycle rule {} on bucket {bucket}: noncurrent versions {}",
                bulwark_core::taxonomy::NONCURRENT_RULE_ID,
                steps.join(", then ")
            )
        }
        NativeAction::ReplicateBucket {
            bucket,
            replica,
            replica_region,
            ..
        } => format!(
            "replicate bucket {bucket} to {replica} in {replica_region} (the rule {}; the \
             bucket made where it is missing)",
            bulwark_core::replication::S3_REPLICATION_RULE_ID
        ),
        NativeAction::SetBackupRetention {
            id,
            days,
            cluster,
            from_days,
            immediately,
            ..
        } => format!(
            "raise {} {id}'s backup retention from {from_days} to {days} days, {}",
            if *cluster { "cluster" } else { "instance" },
            if *immediately {
                "now"
            } else {
                "at the next maintenance window"
            }
        ),
    }
}

/// A restore test: what was restored, each validator's finding, RTO and RPO against the tier.
pub fn print_restore_test(t: &bulwark_aws::restore::RestoreTest) {
    let verdict = if t.passed { "PASSED" } else { "FAILED" };
    let origin = match t.origin {
        Origin::Home => "",
        Origin::Dr => " (its DR copy)",
    };
    println!("restore test {} of {}{origin}: {verdict}", t.id, t.arn);
    if let (Some(point), Some(timing)) = (&t.recovery_point_arn, &t.timing) {
        println!("recovery point {point} (taken {})", timing.point_created);
    }
    if let (Some(name), Some(region)) = (&t.restored_name, &t.region) {
        println!("restored as {name} in {region}");
    }
    if let Some(error) = &t.error {
        println!("error: {error}");
    }
    if !t.findings.is_empty() {
        let mut checks = table(&["check", "result", "detail"]);
        for f in &t.findings {
            checks.add_row(vec![
                f.check.as_str(),
                if f.passed { "pass" } else { "FAIL" },
                f.detail.as_str(),
            ]);
        }
        println!("{checks}");
    }
    if let Some(m) = &t.measured {
        let met = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "RTO {} s (restore {} s, validation {} s): {}; RPO {} s: {} (the point restored \
             was {} s old); tier {}",
            m.rto_seconds,
            m.restore_seconds,
            m.validation_seconds,
            met(m.rto_met),
            m.rpo_seconds,
            met(m.rpo_met),
            m.point_age_seconds,
            t.tier.as_deref().unwrap_or("-")
        );
    }
    match (&t.restored_name, t.cleaned_up, &t.cleanup_error) {
        (None, _, _) => {}
        (Some(_), true, _) => println!("restored copy deleted"),
        (Some(_), false, why) => println!(
            "restored copy NOT deleted ({}): the sweeper will",
            why.as_deref().unwrap_or("unknown")
        ),
    }
}

/// Restore-test history, newest first: one row per test.
pub fn print_restore_history(tests: &[bulwark_aws::restore::RestoreTest]) {
    let mut rows = table(&[
        "ended", "store", "copy", "tier", "result", "RTO s", "RPO s", "cost", "reason",
    ]);
    for t in tests {
        let reason = bulwark_core::restore::failure_reason(
            t.error.as_deref(),
            &t.findings,
            t.measured.as_ref(),
        )
        .unwrap_or_default();
        let seconds = |f: fn(&bulwark_core::restore::Measured) -> u64| {
            t.measured
                .as_ref()
                .map_or("-".to_string(), |m| f(m).to_string())
        };
        rows.add_row(vec![
            t.ended.format("%Y-%m-%d %H:%M:%S").to_string(),
            t.arn.clone(),
            match t.origin {
                Origin::Home => "home".to_string(),
                Origin::Dr => "DR".to_string(),
            },
            t.tier.clone().unwrap_or_else(|| "-".into()),
            if t.passed { "passed" } else { "FAILED" }.to_string(),
            seconds(|m| m.rto_seconds),
            seconds(|m| m.rpo_seconds),
            match t.cost.as_ref().map(|c| c.usd) {
                Some(Some(usd)) => usd.to_string(),
                Some(None) => "unpriced".to_string(),
                None => "-".to_string(),
            },
            reason,
        ]);
    }
    println!("{rows}");
    let month = bulwark_core::restore::month_start(chrono::Utc::now());
    let spend = bulwark_core::restore::spend_by_tier(
        tests.iter().filter_map(|t| {
            Some((
                t.tier.as_deref()?,
                t.ended,
                t.cost.as_ref().and_then(|c| c.usd),
            ))
        }),
        month,
    );
    for (tier, spend) in spend {
        let unpriced = if spend.unpriced > 0 {
            format!(" ({} not priced)", spend.unpriced)
        } else {
            String::new()
        };
        println!(
            "{tier}: {} tests since {}, {} estimated{unpriced}",
            spend.tests,
            month.format("%Y-%m-%d"),
            spend.usd
        );
    }
}
