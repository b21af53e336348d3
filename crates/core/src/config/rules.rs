//! The classification rules as loaded: each validated, the last one the catch-all.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml::Spanned;

use super::load::Loader;
use super::raw::RawRule;
use super::{normalize, CatchAll, ConfigError, Matcher, Outcome, Rule};
use crate::taxonomy::Tier;

const NOT_BACKED_UP: &str = "not-backed-up";
const REPRODUCIBLE: &str = "reproducible";
const NEXT: &str = "next";
pub(super) const RESERVED_OUTCOMES: [&str; 3] = [NOT_BACKED_UP, REPRODUCIBLE, NEXT];

impl Loader<'_> {
    pub(super) fn rules(
        &self,
        raw: Vec<RawRule>,
        tiers: &[Tier],
    ) -> Result<(Vec<Rule>, CatchAll), ConfigError> {
        if raw.is_empty() {
            return Err(self.error_at_line(
                1,
                "no rules: add at least one [[rules]], the last with only a name and `then`".into(),
            ));
        }
        let mut first_seen: HashMap<String, usize> = HashMap::new();
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.len());
        let mut catch_all: Option<CatchAll> = None;
        for raw in raw {
            let name_span = raw.name.span();
            let name = raw.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(self.error(name_span, "a rule needs a non-empty name"));
            }
            if let Some(line) = first_seen.get(&name) {
                return Err(self.error(
                    name_span,
                    format!("duplicate rule name {name:?} (first at line {line})"),
                ));
            }
            first_seen.insert(name.clone(), self.line(name_span.start));
            if let Some(before) = &catch_all {
                return Err(self.error(
                    name_span,
                    format!(
                        "rule {name:?} can never match: rule {:?} before it matches every asset",
                        before.name
                    ),
                ));
            }
            match self.rule(name, raw, tiers)? {
                Rule {
                    name,
                    kinds,
                    matcher: Matcher::Always { then },
                } if kinds.is_empty() => catch_all = Some(CatchAll { name, then }),
                rule => rules.push(rule),
            }
        }
        let Some(catch_all) = catch_all else {
            let last = rules.last().map_or("", |r| r.name.as_str());
            let line = first_seen.get(last).copied().unwrap_or(1);
            return Err(self.error_at_line(
                line,
                format!(
                    "the last rule {last:?} must match every asset (only a name and `then`, \
                     no tag_keys, name_contains, name_words or kinds), so every store gets a \
                     decision"
                ),
            ));
        };
        Ok((rules, catch_all))
    }

    fn rule(&self, name: String, raw: RawRule, tiers: &[Tier]) -> Result<Rule, ConfigError> {
        let name_span = raw.name.span();
        let fail = |span: Range<usize>, message: String| {
            self.error(span, format!("rule {name:?}: {message}"))
        };
        let kinds = match raw.kinds {
            Some(kinds) if kinds.get_ref().is_empty() => {
                return Err(fail(
                    kinds.span(),
                    "kinds = [] matches nothing; leave kinds out to match every kind".into(),
                ))
            }
            Some(kinds) => kinds.into_inner(),
            None => Vec::new(),
        };
        let outcome = |text: &Spanned<String>, allow_next: bool| {
            outcome_of(text.get_ref(), tiers, allow_next)
                .map_err(|message| self.error(text.span(), format!("rule {name:?}: {message}")))
        };

        let matchers = [
            ("tag_keys", raw.tag_keys.is_some()),
            ("name_contains", raw.name_contains.is_some()),
            ("name_words", raw.name_words.is_some()),
        ];
        let present: Vec<&str> = matchers.iter().filter(|m| m.1).map(|m| m.0).collect();
        if present.len() > 1 {
            return Err(fail(
                name_span,
                format!("use one matcher per rule, not {}", present.join(" and ")),
            ));
        }

        let matcher = if let Some(keys) = raw.tag_keys {
            if let Some(then) = &raw.then {
                return Err(fail(
                    then.span(),
                    "a tag_keys rule decides by tag_values; `then` is for name and catch-all \
                     rules"
                        .into(),
                ));
            }
            let Some(values) = raw.tag_values else {
                return Err(fail(
                    keys.span(),
                    "tag_keys needs tag_values, a table from each known value to its outcome"
                        .into(),
                ));
            };
            let keys = self.patterns(&name, "tag_keys", keys, |_| Ok(()))?;
            if values.get_ref().is_empty() {
                return Err(fail(values.span(), "tag_values is empty".into()));
            }
            let mut known: BTreeMap<String, Outcome> = BTreeMap::new();
            let mut written: HashMap<String, String> = HashMap::new();
            for (value, then) in values.into_inner() {
                let normalized = normalize(value.get_ref());
                if let Some(earlier) = written.get(&normalized) {
                    return Err(fail(
                        value.span(),
                        format!(
                            "tag value {:?} is listed twice (also as {earlier:?}); values \
                             match case-insensitively",
                            value.get_ref()
                        ),
                    ));
                }
                written.insert(normalized.clone(), value.get_ref().clone());
                known.insert(normalized, outcome(&then, true)?);
            }
            Matcher::Tag {
                keys,
                values: known,
            }
        } else {
            if let Some(values) = &raw.tag_values {
                return Err(fail(values.span(), "tag_values needs tag_keys".into()));
            }
            let Some(then) = &raw.then else {
                return Err(fail(
                    name_span,
                    "needs `then`: the outcome when the rule matches".into(),
                ));
            };
            let then = outcome(then, false)?;
            if let Some(patterns) = raw.name_contains {
                let patterns = self.patterns(&name, "name_contains", patterns, |_| Ok(()))?;
                Matcher::NameContains { patterns, then }
            } else if let Some(patterns) = raw.name_words {
                let patterns =
                    self.patterns(&name, "name_words", patterns, |p| {
                        if p.chars().all(char::is_alphanumeric) {
                            Ok(())
                        } else {
                            Err("is not a single word (letters and digits only); use name_contains \
                             for other text")
                        }
                    })?;
                Matcher::NameWords { patterns, then }
            } else {
                Matcher::Always { then }
            }
        };
        Ok(Rule {
            name,
            kinds,
            matcher,
        })
    }

    /// A non-empty list of distinct, non-empty patterns, normalized.
    fn patterns(
        &self,
        rule: &str,
        field: &str,
        list: Spanned<Vec<Spanned<String>>>,
        check: impl Fn(&str) -> Result<(), &'static str>,
    ) -> Result<Vec<String>, ConfigError> {
        if list.get_ref().is_empty() {
            return Err(self.error(list.span(), format!("rule {rule:?}: {field} is empty")));
        }
        let mut out: Vec<String> = Vec::new();
        for item in list.into_inner() {
            let normalized = normalize(item.get_ref());
            let problem = if normalized.is_empty() {
                Some("is empty")
            } else if out.contains(&normalized) {
                Some("is listed twice (matching is case-insensitive)")
            } else {
                check(&normalized).err()
            };
            if let Some(problem) = problem {
                return Err(self.error(
                    item.span(),
                    format!(
                        "rule {rule:?}: {field} entry {:?} {problem}",
                        item.get_ref()
                    ),
                ));
            }
            out.push(normalized);
        }
        Ok(out)
    }
}

/// A rule's outcome: a tier name or one of the reserved words.
fn outcome_of(text: &str, tiers: &[Tier], allow_next: bool) -> Result<Outcome, String> {
    match text.trim() {
        NOT_BACKED_UP => Ok(Outcome::NotBackedUp),
        REPRODUCIBLE => Ok(Outcome::Reproducible),
        NEXT if allow_next => Ok(Outcome::Next),
        NEXT => Err("\"next\" decides nothing; a name or catch-all rule must decide".into()),
        tier if tiers.iter().any(|t| t.name == tier) => Ok(Outcome::Tier(tier.to_string())),
        unknown => {
            let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
            Err(format!(
                "{unknown:?} is not a tier ({}) nor one of {NOT_BACKED_UP}, \
                 {REPRODUCIBLE}{}",
                names.join(", "),
                if allow_next { ", next" } else { "" }
            ))
        }
    }
}
