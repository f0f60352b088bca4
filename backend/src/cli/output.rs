//! What the command line prints: progress bars, text summaries, or JSON with `--json`.

use anyhow::Result;
use recall_lab::catalog;
use recall_lab::cf::CfMeta;
use recall_lab::pipeline::Progress;

/// Progress bars on stderr (hidden with --json or when stderr is not a terminal).
pub struct Bars {
    pub hidden: bool,
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: Option<u64>) -> indicatif::ProgressBar {
        let bar = if self.hidden {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(total.unwrap_or(0))
        };
        let template = match total {
            Some(_) => "{prefix:>7} [{bar:32}] {pos}/{len} rows  {per_sec}  ETA {eta}",
            None => "{prefix:>7} {spinner} {pos} rows  {per_sec}",
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_owned());
        bar
    }
}

/// A count that an index may not have (nlist and nprobe of a flat index) as a person reads it.
pub fn shown(v: Option<usize>) -> String {
    v.map_or_else(|| "none (flat index)".to_owned(), |v| v.to_string())
}

pub fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text(value);
    }
    Ok(())
}

pub fn print_import(r: &catalog::ImportReport) {
    for c in &r.columns {
        if let Some(source) = c.source.as_deref().filter(|s| *s != c.field) {
            eprintln!("column {source:?} -> {}", c.field);
        }
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    for rej in r.rejects.iter().take(50) {
        eprintln!("line {}: {}", rej.line, rej.reason);
    }
    if r.rejected as usize > r.rejects.len().min(50) {
        eprintln!(
            "... {} rejected rows in all (see import_rejects.txt)",
            r.rejected
        );
    }
    println!(
        "import: {} loaded, {} updated, {} unchanged, {} rejected, {} categories ({:.1}s)",
        r.loaded, r.updated, r.unchanged, r.rejected, r.categories, r.seconds
    );
}

pub fn channel_tags(c: &common::ChannelScores) -> String {
    c.keys().map(String::as_str).collect::<Vec<_>>().join("+")
}

pub fn print_cf(m: &CfMeta) {
    println!(
        "cf: {} clicks of {} users, {} neighbour pairs (k {}), {:.1}s",
        m.clicks, m.users, m.pairs, m.options.k, m.build_seconds
    );
    if m.clicks_not_in_build > 0 {
        println!(
            "cf: {} clicks on items not in the build were skipped",
            m.clicks_not_in_build
        );
    }
}

pub fn print_neighbours(r: &common::NeighboursResponse) {
    for i in &r.items {
        println!(
            "{:>4} {:.4} {} {}",
            i.rank, i.score, i.product.asin, i.product.title
        );
    }
}
