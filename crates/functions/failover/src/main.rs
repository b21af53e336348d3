//! The failover Lambda: the failover state machine's steps (begin, store, advance, abort).

use bulwark_failover::{handle, FailoverRequest, FailoverSettings};
use bulwark_lambda::{init_tracing, Input, Services};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let services = Services::from_env().await?;
    let settings = FailoverSettings::from_env()?;
    run(service_fn(|event: LambdaEvent<Input<FailoverRequest>>| {
        handle(&services, &settings, event.payload)
    }))
    .await
}
