//! Keeps the CF model current while serving: at start-up and then every `cf_refresh_secs`, when
//! the click log has moved on or the build changed, the model is rebuilt on a blocking thread
//! and swapped in; recalls go on with the old one meanwhile.

use super::AppState;
use std::time::Duration;

/// Runs until the server stops.
pub async fn run(state: AppState) {
    let every = state.config.cf_refresh_secs;
    loop {
        refresh_if_stale(&state).await;
        if every == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}

async fn refresh_if_stale(state: &AppState) {
    let engine = state.engine.clone();
    let options = state.config.cf_options();
    let result = tokio::task::spawn_blocking(move || {
        let stale = engine.cf_stale(&*engine.conn()?, &options)?;
        if stale {
            // One thread, like the reindex job: the rebuild must not take the cores requests
            // are being served on.
            engine.refresh_cf_on(&options, 1).map(Some)
        } else {
            Ok(None)
        }
    })
    .await;
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "CF model rebuild failed; retrying later"),
        Err(e) => tracing::error!(error = %e, "CF model rebuild panicked"),
    }
}
