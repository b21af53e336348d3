//! An AWS Config aggregator as a discovery source: its name, and which accounts and regions it
//! can vouch for. A scope it does not cover is swept by the API: an empty answer from an
//! aggregator that cannot read a scope would otherwise mark every store there gone.

use std::collections::BTreeSet;
use std::fmt;

use crate::arn::{AccountId, Region};
use crate::asset::Scope;
use crate::error::CoreError;

/// A configuration aggregator's name, as AWS Config constrains it: 1 to 256 of `[\w-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AggregatorName(String);

impl AggregatorName {
    pub fn parse(name: &str) -> Result<Self, CoreError> {
        let valid = (1..=256).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self(name.to_string()))
        } else {
            Err(CoreError::InvalidAggregatorName(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AggregatorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One of an aggregator's sources in one region, as DescribeConfigurationAggregatorSourcesStatus
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggregatedSource {
    /// An account source: that account in that region.
    Account {
        account: AccountId,
        region: Region,
        succeeded: bool,
    },
    /// An organization source: every account of the organization in that region.
    Organization { region: Region, succeeded: bool },
}

/// The scopes whose configuration items the aggregator holds up to date: those of a source
/// whose last update SUCCEEDED. An organization source covers each account Bulwark swept
/// through the organization (the only accounts it sweeps besides its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregatorCoverage {
    accounts: BTreeSet<(AccountId, Region)>,
    organization_regions: BTreeSet<Region>,
}

impl AggregatorCoverage {
    pub fn from_sources(sources: impl IntoIterator<Item = AggregatedSource>) -> Self {
        let mut coverage = Self::default();
        for source in sources {
            match source {
                AggregatedSource::Account {
                    account,
                    region,
                    succeeded: true,
                } => {
                    coverage.accounts.insert((account, region));
                }
                AggregatedSource::Organization {
                    region,
                    succeeded: true,
                } => {
                    coverage.organization_regions.insert(region);
                }
                _ => {}
            }
        }
        coverage
    }

    pub fn covers(&self, scope: &Scope) -> bool {
        self.organization_regions.contains(&scope.region)
            || self
                .accounts
                .contains(&(scope.account.clone(), scope.region.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(account: &str, region: &str) -> Scope {
        Scope {
            account: AccountId::parse(account).expect("account"),
            region: Region::parse(region).expect("region"),
        }
    }

    #[test]
    fn a_name_is_one_to_256_word_characters_or_hyphens() {
        assert!(AggregatorName::parse("org-estate_1").is_ok());
        assert!(AggregatorName::parse(&"a".repeat(256)).is_ok());
        for bad in ["", "has space", "dot.ted", "quote'", &"a".repeat(257)] {
            assert!(AggregatorName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_a_source_that_succeeded_covers_its_scope() {
        let coverage = AggregatorCoverage::from_sources([
            AggregatedSource::Account {
                account: AccountId::parse("111111111111").expect("account"),
                region: Region::parse("us-east-1").expect("region"),
                succeeded: true,
            },
            AggregatedSource::Account {
                account: AccountId::parse("222222222222").expect("account"),
                region: Region::parse("us-east-1").expect("region"),
                succeeded: false,
            },
            AggregatedSource::Organization {
                region: Region::parse("eu-west-1").expect("region"),
                succeeded: true,
            },
            AggregatedSource::Organization {
                region: Region::parse("us-west-2").expect("region"),
                succeeded: false,
            },
        ]);
        assert!(coverage.covers(&scope("111111111111", "us-east-1")));
        assert!(!coverage.covers(&scope("111111111111", "us-west-2")));
        assert!(!coverage.covers(&scope("222222222222", "us-east-1")));
        assert!(coverage.covers(&scope("222222222222", "eu-west-1")));
        assert!(!coverage.covers(&scope("333333333333", "us-west-2")));
    }
}
