//! `recall-lab images`: fetch, draw, status. Thin glue over `recall_lab::images`.

use super::args::ImagesCommand;
use super::output::{Bars, print};
use anyhow::Result;
use recall_lab::catalog;
use recall_lab::images::{self, fetch};
use recall_lab::layout::Layout;
use recall_lab::pipeline::Progress;

pub fn run(layout: &Layout, action: ImagesCommand, json: bool, bars: &Bars) -> Result<()> {
    match action {
        ImagesCommand::Fetch {
            concurrency,
            timeout_secs,
            retries,
            max_bytes,
            retry_failed,
        } => {
            let opts = fetch::FetchOptions {
                concurrency,
                timeout: std::time::Duration::from_secs_f64(timeout_secs.max(0.001)),
                retries,
                max_bytes,
                retry_failed,
                ..Default::default()
            };
            let bar = bars.stage("images", Some(0));
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let r = rt.block_on(fetch::fetch_missing(layout, &opts, &progress))?;
            bar.finish_and_clear();
            print(json, &r, |r| {
                println!(
                    "images: {} with a URL: {} fetched now, {} already cached, {} failed now, {} earlier failures skipped ({:.1}s)",
                    r.with_url,
                    r.fetched,
                    r.already_cached,
                    r.failures.len(),
                    r.earlier_failures,
                    r.seconds
                );
                print_failures(&r.failures);
                if r.earlier_failures > 0 {
                    println!("  (--retry-failed tries the earlier failures again)");
                }
                if !r.failures.is_empty() || r.earlier_failures > 0 {
                    println!(
                        "  every failure: {}",
                        layout.images_dir().join("failures.csv").display()
                    );
                }
            })?;
        }
        ImagesCommand::Draw { force } => {
            let mut c = catalog::open(&layout.db())?;
            let r = images::draw_missing(layout, &mut c, force)?;
            print(json, &r, |r| {
                println!(
                    "images: {} drawn, {} already had one; in {}",
                    r.drawn,
                    r.kept,
                    layout.images_dir().display()
                )
            })?;
        }
        ImagesCommand::Status => {
            let c = catalog::open(&layout.db())?;
            let counts = images::counts(&c)?;
            let failures = images::failures(&c)?;
            #[derive(serde::Serialize)]
            struct Status {
                #[serde(flatten)]
                counts: common::ImageStats,
                failures: Vec<fetch::Failure>,
            }
            print(json, &Status { counts, failures }, |s| {
                println!(
                    "images: {} cached ({} drawn), {} failed",
                    s.counts.cached, s.counts.drawn, s.counts.failed
                );
                print_failures(&s.failures);
            })?;
        }
    }
    Ok(())
}

fn print_failures(failures: &[fetch::Failure]) {
    for f in failures {
        println!(
            "  {}  {:<12}  {}  ({} attempts)  {}",
            f.asin,
            f.kind.as_str(),
            f.detail,
            f.attempts,
            f.url
        );
    }
}
