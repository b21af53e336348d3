//! The assign-policy Lambda: makes AWS Backup protect what a sweep classified, then reports
//! coverage (metrics, and an alert for critical-tier gaps).

// The handler's future nests the SDK's deeply enough that clippy's layout query needs more than
// the default depth.
#![recursion_limit = "256"]

use bulwark_lambda::{init_tracing, Input, Services};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let services = Services::from_env().await?;
    run(service_fn(
        |event: LambdaEvent<Input<bulwark_assign_policy::AssignRequest>>| {
            bulwark_assign_policy::handle(&services, event.payload)
        },
    ))
    .await
}
