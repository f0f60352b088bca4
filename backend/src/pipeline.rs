//! The whole pipeline in one call: import (when given a source), embed, index. Used by
//! `recall-lab build` and by the server's background reindex.

use crate::catalog::{self, ImportReport, Source};
use crate::embed::{self, EmbedOptions, EmbedReport};
use crate::error::Result;
use crate::index::{self, IndexOptions, IndexReport};
use crate::layout::Layout;
use std::path::PathBuf;

/// What `build` should do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub csv: Option<PathBuf>,
    pub sqlite: Option<PathBuf>,
    pub categories: Option<PathBuf>,
    /// CSV columns named for product fields (`catalog::ColumnMap`).
    pub map: catalog::ColumnMap,
    pub embed: EmbedOptions,
    pub index: IndexOptions,
    pub cf: crate::cf::CfOptions,
    /// Draw an illustration for every product without a cached picture (`images::draw`).
    pub draw_images: bool,
    /// Leave the catalog map (`map`) to a later `recall-lab map`.
    pub skip_map: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    pub import: Option<ImportReport>,
    pub embed: EmbedReport,
    pub index: IndexReport,
    /// The CF model built from the click log for the new build.
    pub cf: crate::cf::CfMeta,
    /// The catalog map made for the new build, unless skipped.
    pub map: Option<crate::map::MapReport>,
    /// What the images step did, when it ran.
    pub images: Option<crate::images::DrawReport>,
    pub seconds: f64,
}

/// Progress of a pipeline stage, reported to a callback (the CLI draws bars, the server
/// updates a job).
pub trait Progress: Sync {
    fn stage(&self, name: &str, total: Option<u64>) -> indicatif::ProgressBar;
}

/// Runs import (if a source is given), embed and index.
pub fn build(layout: &Layout, opts: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&layout.dir).map_err(crate::Error::io(&layout.dir))?;
    let _writer = layout.lock_writer()?;
    let source = match (&opts.csv, &opts.sqlite) {
        (Some(p), _) => Some(Source::Csv(p)),
        (None, Some(p)) => Some(Source::Sqlite(p)),
        (None, None) => None,
    };
    let import = match source {
        Some(src) => {
            let bar = progress.stage("import", None);
            let r = catalog::import_mapped(
                &layout.db(),
                src,
                &opts.map,
                opts.categories.as_deref(),
                &layout.rejects(),
                &bar,
            )?;
            bar.finish_and_clear();
            Some(r)
        }
        None => {
            if let Some(cat) = &opts.categories {
                catalog::import_categories(&catalog::open(&layout.db())?, cat)?;
            }
            None
        }
    };
    let bar = progress.stage("embed", Some(0));
    let embed = embed::run(layout, &opts.embed, &bar)?;
    bar.finish_and_clear();
    let bar = progress.stage("index", None);
    let index = index::build(layout, &opts.index, &bar)?;
    bar.finish_and_clear();
    let bar = progress.stage("cf", None);
    let cf = crate::cf::rebuild(layout, &opts.cf)?.meta;
    bar.finish_and_clear();
    let map = if opts.skip_map {
        None
    } else {
        let bar = progress.stage("map", None);
        let r = crate::map::build(layout, &crate::map::MapOptions::default())?;
        bar.finish_and_clear();
        Some(r)
    };
    let images = if opts.draw_images {
        let bar = progress.stage("images", None);
        let r = crate::images::draw_missing(layout, &mut catalog::open(&layout.db())?, false)?;
        bar.finish_and_clear();
        Some(r)
    } else {
        None
    };
    Ok(BuildReport {
        import,
        embed,
        index,
        cf,
        map,
        images,
        seconds: started.elapsed().as_secs_f64(),
    })
}
