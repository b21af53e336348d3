//! The classify Lambda: classifies the assets a sweep touched, or one asset.

use bulwark_lambda::{init_tracing, Input, Services};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let services = Services::from_env().await?;
    run(service_fn(
        |event: LambdaEvent<Input<bulwark_classify::ClassifyRequest>>| {
            bulwark_classify::handle(&services, event.payload)
        },
    ))
    .await
}
