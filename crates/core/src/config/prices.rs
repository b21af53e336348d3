//! The `[restore_test_prices]` table: the prices restore tests' costs are estimated at; and
//! `[backup_storage_prices]`: what a GB-month of recovery points costs, warm and cold. Each
//! entry a table names replaces the built-in one; the rest stay (`Prices::builtin`,
//! `StoragePrices::builtin`).

use std::collections::BTreeMap;
use std::str::FromStr;

use toml::Spanned;

use super::load::Loader;
use super::raw::{RawPrices, RawStoragePrices};
use super::ConfigError;
use crate::backup_cost::StoragePrices;
use crate::kind::Kind;
use crate::restore::{Prices, Usd};

impl Loader<'_> {
    pub(super) fn restore_test_prices(
        &self,
        raw: Option<RawPrices>,
    ) -> Result<Prices, ConfigError> {
        let mut prices = Prices::builtin();
        let Some(raw) = raw else {
            return Ok(prices);
        };
        for (class, price) in raw.instance_hour {
            let usd = self.usd(&price, "instance_hour", class.get_ref())?;
            if !class.get_ref().starts_with("db.") {
                return Err(self.error(
                    class.span(),
                    format!(
                        "[restore_test_prices] instance_hour {:?}: not a DB instance class (db.<family>.<size>)",
                        class.get_ref()
                    ),
                ));
            }
            prices.instance_hour.insert(class.into_inner(), usd);
        }
        let section = "[restore_test_prices]";
        self.by_kind(
            raw.storage_gb_month,
            (section, "storage_gb_month"),
            &mut prices.storage_gb_month,
        )?;
        self.by_kind(
            raw.restore_gb,
            (section, "restore_gb"),
            &mut prices.restore_gb,
        )?;
        Ok(prices)
    }

    pub(super) fn backup_storage_prices(
        &self,
        raw: Option<RawStoragePrices>,
    ) -> Result<StoragePrices, ConfigError> {
        let mut prices = StoragePrices::builtin();
        let Some(raw) = raw else {
            return Ok(prices);
        };
        let section = "[backup_storage_prices]";
        self.by_kind(
            raw.warm_gb_month,
            (section, "warm_gb_month"),
            &mut prices.warm_gb_month,
        )?;
        self.by_kind(
            raw.cold_gb_month,
            (section, "cold_gb_month"),
            &mut prices.cold_gb_month,
        )?;
        Ok(prices)
    }

    fn by_kind(
        &self,
        raw: BTreeMap<Spanned<String>, Spanned<f64>>,
        (section, table): (&str, &str),
        into: &mut BTreeMap<Kind, Usd>,
    ) -> Result<(), ConfigError> {
        for (kind, price) in raw {
            let usd = Usd::from_dollars(*price.get_ref()).map_err(|why| {
                self.error(
                    price.span(),
                    format!("{section} {table} {:?}: {why}", kind.get_ref()),
                )
            })?;
            let parsed = Kind::from_str(kind.get_ref()).map_err(|_| {
                self.error(
                    kind.span(),
                    format!(
                        "{section} {table} {:?}: not a kind (s3, rds, aurora, dynamodb, efs, ebs)",
                        kind.get_ref()
                    ),
                )
            })?;
            into.insert(parsed, usd);
        }
        Ok(())
    }

    fn usd(&self, price: &Spanned<f64>, table: &str, key: &str) -> Result<Usd, ConfigError> {
        Usd::from_dollars(*price.get_ref()).map_err(|why| {
            self.error(
                price.span(),
                format!("[restore_test_prices] {table} {key:?}: {why}"),
            )
        })
    }
}
