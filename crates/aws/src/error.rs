use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use bulwark_core::CoreError;
use thiserror::Error;

/// Everything an adapter can fail with. `is_retryable` tells the Lambda edge whether Step
/// Functions should retry.
#[derive(Debug, Clone, Error)]
pub enum AwsError {
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("{operation} failed: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: conflicting write to {key}; retry")]
    Conflict {
        operation: &'static str,
        key: String,
    },
    #[error("{0} is not in the inventory: run discovery first")]
    NotInInventory(String),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    /// A restore test that cannot go on: no recovery point to restore, a restore that failed.
    #[error("{0}")]
    RestoreTest(String),
    #[error("configuration: {0}")]
    Configuration(String),
    /// A failover refused before it changed anything (a stale plan hash, a blocked plan, the
    /// application held by another run), or a request about a run that cannot be met.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Error codes AWS uses for throttling and transient trouble: worth a retry later.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "TransactionConflictException",
];

impl AwsError {
    pub fn is_retryable(&self) -> bool {
        match self {
            AwsError::Service { retryable, .. } => *retryable,
            AwsError::Transport { .. } | AwsError::Conflict { .. } => true,
            AwsError::NotInInventory(_)
            | AwsError::Malformed(_)
            | AwsError::Configuration(_)
            | AwsError::RestoreTest(_)
            | AwsError::Refused(_)
            | AwsError::Core(_) => false,
        }
    }

    /// Whether the service did not answer as a working one does: no answer at all (a
    /// connection refused or reset, a timeout) or a server error that is not throttling. What
    /// a region in an outage looks like to a client.
    pub fn is_unavailable(&self) -> bool {
        match self {
            AwsError::Transport { .. } => true,
            AwsError::Service {
                code, retryable, ..
            } => {
                let throttled = [
                    "Throttl",
                    "RequestLimit",
                    "TooMany",
                    "SlowDown",
                    "Provisioned",
                ]
                .iter()
                .any(|prefix| code.starts_with(prefix));
                *retryable && !throttled && code != "TransactionConflictException"
            }
            _ => false,
        }
    }

    /// The operation that failed, when the error is an AWS call's.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            AwsError::Service { operation, .. }
            | AwsError::Transport { operation, .. }
            | AwsError::Conflict { operation, .. } => Some(operation),
            _ => None,
        }
    }

    /// The AWS error code, when the service gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Wrap an SDK error, keeping the service's code and message.
    pub fn sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let status = service.raw().status();
                // An answer without an error code (a proxy's 503, an empty body) still says
                // its HTTP status, and the SDK's account of the cause.
                let code = inner
                    .code()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
                let message = inner.message().map(str::to_string).unwrap_or_else(|| {
                    aws_smithy_types::error::display::DisplayErrorContext(&err).to_string()
                });
                let retryable =
                    RETRYABLE_CODES.contains(&code.as_str()) || status.is_server_error();
                AwsError::Service {
                    operation,
                    message,
                    code,
                    retryable,
                }
            }
            _ => AwsError::Transport {
                operation,
                message: aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
            },
        }
    }
}

/// Whether an SDK error is the service saying "no such resource" under one of `codes`.
pub fn is_not_found<E, R>(err: &SdkError<E, R>, codes: &[&str]) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(s) if s.err().code().is_some_and(|c| codes.contains(&c)))
}
