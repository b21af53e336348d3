//! A spinner on standard error while the CLI waits on a long library call. Drawn only when
//! standard error is a terminal, so pipes, files, tests and CI see nothing of it.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::ProgressBar;

/// Awaits `work`, saying `message` beside a spinner meanwhile; the line is cleared after.
pub async fn waiting<T>(message: &str, work: impl Future<Output = T>) -> T {
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = ProgressBar::new_spinner().with_message(message.to_string());
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    });
    let result = work.await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    result
}
