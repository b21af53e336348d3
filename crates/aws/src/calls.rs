//! Counts the AWS API calls the product makes, by service and operation, through an SDK
//! interceptor on every client: the benchmark's and the tests' window on "how many calls".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// A shared tally of HTTP requests sent, keyed by "Service:Operation". Retries count: each
/// attempt is a request AWS sees.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.clear();
        }
    }

    /// The counts since `before` (a previous snapshot).
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .filter_map(|(op, n)| {
                let delta = n - before.get(&op).copied().unwrap_or(0);
                (delta > 0).then_some((op, delta))
            })
            .collect()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "BulwarkCallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            Some(m) => format!("{}:{}", m.service(), m.name()),
            None => "unknown".to_string(),
        };
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(key).or_default() += 1;
        }
        Ok(())
    }
}

/// Operations that change something in AWS (or in Bulwark's table): what "a second run
/// makes no mutating call" counts.
pub fn is_mutating(operation: &str) -> bool {
    let name = operation.rsplit(':').next().unwrap_or(operation);
    ![
        "Describe", "List", "Get", "Query", "Scan", "BatchGet", "Head",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}
