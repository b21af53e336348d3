//! The validate-restore Lambda: the restore-test state machine's steps (select, start, poll,
//! validate, finish, sweep).

use bulwark_lambda::{init_tracing, Input, Services};
use bulwark_validate_restore::{handle, RestoreRequest, RestoreSettings};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let services = Services::from_env().await?;
    let settings = RestoreSettings::from_env()?;
    run(service_fn(|event: LambdaEvent<Input<RestoreRequest>>| {
        handle(&services, &settings, event.payload)
    }))
    .await
}
