//! A paginator's pages, each mapped as it arrives and dropped: what is held is one page and
//! what was made of the others, never the listing's own types for all of it.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::error::AwsError;

/// The pages of a listing, each mapped as it arrives and dropped.
pub(crate) async fn mapped_pages<P, E, T>(
    pages: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<P, SdkError<E, HttpResponse>>,
    >,
    operation: &'static str,
    map: impl Fn(P) -> Vec<T>,
) -> Result<Vec<T>, AwsError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    try_mapped_pages(pages, operation, |page| Ok(map(page))).await
}

/// The pages of a listing, each mapped as it arrives and dropped; a page that cannot be
/// mapped ends the listing with its error.
pub(crate) async fn try_mapped_pages<P, E, T>(
    mut pages: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<P, SdkError<E, HttpResponse>>,
    >,
    operation: &'static str,
    mut map: impl FnMut(P) -> Result<Vec<T>, AwsError>,
) -> Result<Vec<T>, AwsError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut mapped = Vec::new();
    while let Some(page) = pages.next().await {
        mapped.extend(map(page.map_err(|e| AwsError::sdk(operation, e))?)?);
    }
    Ok(mapped)
}
