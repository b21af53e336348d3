//! The discover Lambda: a scheduled event sweeps everything; an AWS Config change event
//! looks up one store.

use bulwark_lambda::{init_tracing, Input, Services};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let services = Services::from_env().await?;
    run(service_fn(
        |event: LambdaEvent<Input<bulwark_discover::DiscoverEvent>>| {
            bulwark_discover::handle(&services, event.payload)
        },
    ))
    .await
}
