//! A hello-world Lambda: the Runtime API's loop and nothing else. Never deployed; the
//! benchmark's baseline for the functions' cold-start init.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
