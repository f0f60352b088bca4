//! The engine's other questions: an item's neighbours, semantic search by text, and the ANN
//! index's recall against exact search.

use super::engine::Engine;
use super::loaded::Loaded;
use crate::catalog;
use crate::embed::{Embedder, ModelChoice, ModelPaths};
use crate::error::{Error, Result};
use crate::ids::Asin;
use crate::index::{Query, recall_at};
use crate::util::ms_since;
use common::{AnnEval, AnnPoint, NeighboursResponse, ScoredProduct};
use std::time::Instant;

impl Engine {
    /// Item-to-item neighbours of `asin` from the index.
    pub fn similar(
        &self,
        asin: &Asin,
        k: usize,
        nprobe: Option<usize>,
    ) -> Result<NeighboursResponse> {
        let t = Instant::now();
        check_k(k)?;
        let loaded = self.current();
        let pos = match loaded.asins.position(asin.as_str()) {
            Some(p) => p as usize,
            None => {
                // Known product without a vector vs. unknown product.
                catalog::get_product(&*self.conn()?, asin)?;
                return Err(Error::StaleArtifact {
                    what: "the embeddings",
                    path: self.layout.embeddings(),
                    why: format!("{asin} was added after the last build"),
                    fix: self.layout.fix("build"),
                });
            }
        };
        let nprobe = match nprobe {
            Some(_) => loaded.index.check_nprobe(nprobe)?,
            None => loaded.index.nprobe_for_k(k + 1),
        };
        let found = loaded
            .index
            .search(&Query::new(&loaded.vectors.row(pos)?, k + 1, nprobe))?;
        let hits: Vec<(usize, f32)> = found.row(0).filter(|(l, _)| *l != pos).take(k).collect();
        let items = self.enrich_scored(&loaded, &hits)?;
        Ok(NeighboursResponse {
            asin: Some(asin.to_string()),
            query: None,
            k,
            nprobe,
            items,
            took_ms: ms_since(t),
        })
    }

    /// Semantic search: embeds `text` with the build's model and searches the index.
    pub fn search_text(&self, text: &str, k: usize) -> Result<NeighboursResponse> {
        let t = Instant::now();
        check_k(k)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::param("q", "the query text is empty"));
        }
        if text.chars().count() > 1000 {
            return Err(Error::param(
                "q",
                "the query text is longer than 1000 characters",
            ));
        }
        let loaded = self.current();
        let vector = {
            let built = &loaded.embeddings.model;
            let mut slot = self.embedder.lock().unwrap_or_else(|p| p.into_inner());
            // A reindex may swap in a build made with another named model: load that one.
            let stale = slot
                .as_ref()
                .is_none_or(|e| self.model_dir.is_none() && e.id.name != built.name);
            if stale {
                let choice = match &self.model_dir {
                    Some(d) => ModelChoice::Dir(d.clone()),
                    None => ModelChoice::Named(built.name.clone()),
                };
                *slot = Some(Embedder::load(&ModelPaths::resolve(&choice)?, 1)?);
            }
            let embedder = slot.as_mut().expect("loaded above");
            // Checked on every query: a folder of that name may hold another file than the build's.
            if embedder.id != *built {
                let show = |m: &crate::embed::ModelId| {
                    format!(
                        "{} (sha256 {})",
                        m.name,
                        m.sha256.get(..12).unwrap_or(&m.sha256)
                    )
                };
                return Err(Error::ModelMismatch {
                    built: show(built),
                    configured: show(&embedder.id),
                    fix: self.layout.fix("build"),
                });
            }
            embedder.embed_one(text)?
        };
        let nprobe = loaded.index.nprobe_for_k(k);
        let found = loaded.index.search(&Query::new(&vector, k, nprobe))?;
        let hits: Vec<(usize, f32)> = found.row(0).collect();
        let items = self.enrich_scored(&loaded, &hits)?;
        Ok(NeighboursResponse {
            asin: None,
            query: Some(text.to_owned()),
            k,
            nprobe,
            items,
            took_ms: ms_since(t),
        })
    }

    /// Neighbour hits as products, in order, with their category names.
    fn enrich_scored(&self, loaded: &Loaded, hits: &[(usize, f32)]) -> Result<Vec<ScoredProduct>> {
        let source = self.row_source(loaded, &*self.conn()?)?;
        let products = self.products_at(loaded, source, hits.iter().map(|(l, _)| *l))?;
        Ok(hits
            .iter()
            .zip(products)
            .filter_map(|((_, s), p)| p.map(|p| (p, *s)))
            .map(|(mut p, s)| {
                p.category_name = loaded.category_names.get(&p.category_id).cloned();
                (p, s)
            })
            .enumerate()
            .map(|(i, (product, score))| ScoredProduct {
                rank: i + 1,
                score,
                product,
            })
            .collect())
    }

    /// recall@k of the index against exact search over the same vectors, for each nprobe, on
    /// `samples` catalog vectors used as queries; with mean per-query times of both.
    pub fn ann_eval(&self, k: usize, nprobes: &[usize], samples: usize) -> Result<AnnEval> {
        check_k(k)?;
        if samples == 0 || samples > 2_000 {
            return Err(Error::param(
                "samples",
                "samples must be between 1 and 2000",
            ));
        }
        let loaded = self.current();
        for &np in nprobes {
            loaded.index.check_nprobe(Some(np))?;
        }
        let n = loaded.vectors.rows();
        let samples = samples.min(n);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(11);
        let picks = rand::seq::index::sample(&mut rng, n, samples);
        let mut queries = Vec::with_capacity(samples * loaded.vectors.cols());
        for i in picks {
            loaded.vectors.extend_row(i, &mut queries)?;
        }
        let exact_index = loaded.exact()?;
        let t = Instant::now();
        let exact = exact_index.search(&queries, k, None)?;
        let exact_ms = ms_since(t) / samples as f64;
        let probes: Vec<Option<usize>> = if loaded.index.nlist().is_some() {
            let mut v: Vec<usize> = nprobes.to_vec();
            v.sort_unstable();
            v.dedup();
            v.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let mut points = Vec::new();
        for np in probes {
            let t = Instant::now();
            let ann = loaded.index.search(&Query::new(&queries, k, np))?;
            let ann_ms = ms_since(t) / samples as f64;
            points.push(AnnPoint {
                nprobe: np,
                k,
                recall: recall_at(&ann, &exact, samples, k),
                ann_ms,
                exact_ms,
            });
        }
        Ok(AnnEval { samples, points })
    }

    /// The default nprobe sweep for the loaded index: powers of two up to nlist.
    pub fn default_sweep(&self) -> Vec<usize> {
        let nlist = self.current().index.nlist().unwrap_or(1);
        std::iter::successors(Some(1usize), |n| Some(n * 2))
            .take_while(|n| *n < nlist)
            .chain([nlist])
            .collect()
    }
}

fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > common::MAX_K {
        return Err(Error::param(
            "k",
            format!("k must be between 1 and {}, got {k}", common::MAX_K),
        ));
    }
    Ok(())
}
