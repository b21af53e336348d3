//! Tracing, set up one way for every entry point: the Lambda functions log JSON lines to
//! stdout for CloudWatch, the CLI human-readable lines to stderr (its stdout is the result).
//! The level comes from RUST_LOG in both.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// JSON to stdout, without timestamps (CloudWatch adds its own); default level info.
    Lambda,
    /// Text to stderr; default level warn.
    Cli,
}

pub fn init(output: Output) {
    let filter = |default: &str| {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    };
    match output {
        Output::Lambda => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter("info"))
            .with_target(false)
            .without_time()
            .init(),
        Output::Cli => tracing_subscriber::fmt()
            .with_env_filter(filter("warn"))
            .with_writer(std::io::stderr)
            .init(),
    }
}
