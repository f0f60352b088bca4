//! The command line's flags (clap): every subcommand and its options, and how each becomes the
//! library's options.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use recall_lab::cf::CfOptions;
use recall_lab::embed::{EmbedOptions, ModelChoice};
use recall_lab::index::milvus::MilvusIndexType;
use recall_lab::index::{EngineTarget, IndexOptions};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "recall-lab",
    version,
    about = "Product recall over FAISS, title embeddings and co-clicks"
)]
pub struct Cli {
    /// Folder with recommend.db, product_emb.npy, asin_list.txt, faiss.index, products.rows and
    /// manifest.json.
    /// [default: ./data]
    #[arg(long, global = true, env = "RECALL_LAB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Load products from the Kaggle CSV (or a seed SQLite file) into recommend.db.
    Import(ImportArgs),
    /// Embed every new or changed title; writes product_emb.npy and asin_list.txt.
    Embed(EmbedArgs),
    /// Build the FAISS index from the embeddings; writes faiss.index and products.rows.
    Index(IndexArgs),
    /// import (when given a source), embed and index in one go.
    Build {
        #[command(flatten)]
        import: SourceArgs,
        #[command(flatten)]
        embed: EmbedArgs,
        #[command(flatten)]
        index: IndexArgs,
        /// Draw an illustration for every product without a cached picture (the demo
        /// catalog's products have none).
        #[arg(long)]
        draw_images: bool,
        /// Skip the catalog map (`recall-lab map` makes it later).
        #[arg(long)]
        no_map: bool,
    },
    /// Lay the build's embeddings out in 2D for the app's Map view (PCA, then t-SNE; a sample
    /// of at most --max-points rows); writes catalog_map.json. `build` runs it too.
    Map {
        #[arg(long, default_value_t = 50_000)]
        max_points: usize,
        #[arg(long, default_value_t = 1000)]
        epochs: usize,
    },
    /// Product pictures cached in DATA_DIR/images and served at /api/images/ASIN: fetch the
    /// products' imgUrl, draw illustrations, or show what the cache holds and what failed.
    Images {
        #[command(subcommand)]
        action: ImagesCommand,
    },
    /// Recall candidates for a stored user from their recent clicks.
    Recall {
        #[arg(long)]
        user: String,
        #[command(flatten)]
        params: RecallArgs,
    },
    /// Item-to-item neighbours of a product.
    Similar {
        asin: String,
        #[arg(long, default_value_t = 20)]
        k: usize,
        #[arg(long)]
        nprobe: Option<usize>,
    },
    /// Semantic search: embed a text and search the index.
    Search {
        text: String,
        #[arg(long, default_value_t = 20)]
        k: usize,
    },
    /// Add, list or clear a user's clicks.
    Clicks {
        #[command(subcommand)]
        action: ClicksCommand,
    },
    /// Write simulated click sessions so the CF channel has signal.
    Simulate {
        #[arg(long, default_value_t = 300)]
        users: usize,
        #[arg(long, default_value_t = 4)]
        min_clicks: usize,
        #[arg(long, default_value_t = 12)]
        max_clicks: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "sim-")]
        prefix: String,
    },
    /// Build the item-to-item CF model from the click log (a running server rebuilds it by
    /// itself when the log moves on).
    Cf(CfArgs),
    /// Category precision@K of item-to-item neighbours.
    Precision {
        #[arg(long, default_value_t = 10)]
        k: usize,
    },
    /// The embedding models a build can use (`--model NAME`): which ones setup has made here,
    /// and what each trades between speed and fidelity to fp32.
    Models,
    /// Quality evaluation: ANN recall sweep, category precision, fidelity of the build's vectors
    /// to the fp32 reference model, held-out sessions; writes eval_report.json and
    /// eval_report.html.
    Eval {
        /// Output folder [default: DATA_DIR/eval].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        #[arg(long, default_value_t = 500)]
        samples: usize,
    },
    /// Review scenarios: list them, check their expectations against the current build (exit
    /// code 1 when one fails, naming it: a gate for CI), export and import them with their
    /// judgments.
    Scenarios {
        #[command(subcommand)]
        action: ScenariosCommand,
    },
    /// Write the review report: one self-contained HTML file over every scenario (its
    /// configurations recalled now, judged metrics, summary, expectations, judgments), and the
    /// judgments as CSV beside it.
    Report {
        #[arg(long, default_value = "review-report.html")]
        out: PathBuf,
        /// The judgments' CSV [default: OUT with the extension .csv].
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Write the demo catalog (synthetic products, no downloaded data) as CSV files.
    DemoCatalog {
        #[arg(long, default_value = "backend/demo")]
        out: PathBuf,
        /// How many products (the committed demo catalog has the default; benchmarks make
        /// larger ones).
        #[arg(long, default_value_t = recall_lab::demo::DEMO_PRODUCTS)]
        products: usize,
    },
    /// Serve the API and the browser app.
    Serve {
        /// Listen address (default 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
        /// Trunk's output folder (default ./dist).
        #[arg(long)]
        dist_dir: Option<PathBuf>,
        /// A TOML configuration file (default: ./recall-lab.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ImagesCommand {
    /// Download each product's imgUrl as a JPEG thumbnail. Resumable: cached products are
    /// skipped, and so are earlier failures unless --retry-failed; failures are listed by asin
    /// and written to DATA_DIR/images/failures.csv.
    Fetch {
        /// Downloads in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds allowed for one attempt.
        #[arg(long, default_value_t = 10.0)]
        timeout_secs: f64,
        /// Further attempts after a timeout, a connection error, a 429 or a 5xx (with backoff).
        #[arg(long, default_value_t = 2)]
        retries: u32,
        /// Originals larger than this many bytes are refused.
        #[arg(long, default_value_t = 5 << 20)]
        max_bytes: u64,
        /// Try the products an earlier run failed on again.
        #[arg(long)]
        retry_failed: bool,
    },
    /// Draw an illustration (an icon for the product type, in the colour its title names) for
    /// every product without a cached picture.
    Draw {
        /// Redraw every product, replacing fetched pictures too.
        #[arg(long)]
        force: bool,
    },
    /// How many products have a cached picture, and every failure by asin.
    Status,
}

#[derive(Subcommand)]
pub enum ClicksCommand {
    Add {
        user: String,
        asins: Vec<String>,
    },
    List {
        user: String,
    },
    Clear {
        user: String,
    },
    /// Load a click log: CSV with a header (user, asin and timestamp columns, common spellings
    /// recognised) or JSON Lines (`{"user":..,"asin":..,"timestamp":..}`); timestamps in ISO
    /// 8601 or Unix seconds. Bad lines are reported by number; a re-run adds nothing.
    Import {
        file: PathBuf,
        /// csv or jsonl (default: from the file name).
        #[arg(long)]
        format: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ScenariosCommand {
    /// Every scenario: its clicks, expectations and judgments counted.
    List,
    /// Check the expectations of every scenario (or of the ids given) against the current
    /// build; exits with 1 when any fails. `--json` lists every expectation's result.
    Check { ids: Vec<String> },
    /// Write every scenario and its judgments as JSON (to standard output without --out).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Add or replace scenarios (by id) and judgments from an export file.
    Import { file: PathBuf },
}

#[derive(Args, Clone)]
pub struct SourceArgs {
    /// The products CSV (the seed's columns).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// An SQLite file with the seed's amazon_products table, instead of a CSV.
    #[arg(long, conflicts_with = "csv")]
    pub sqlite: Option<PathBuf>,
    /// `id,category_name` CSV.
    #[arg(long)]
    pub categories: Option<PathBuf>,
    /// A CSV column for a product field, as SOURCE=FIELD (e.g. "Product Name=title"); repeat
    /// it. Columns are otherwise recognised by their common spellings.
    #[arg(long = "map", value_parser = parse_map)]
    pub map: Vec<(String, String)>,
}

#[derive(Args, Clone)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Args, Clone)]
pub struct EmbedArgs {
    /// The model, by name (`recall-lab models` lists them and what each trades).
    #[arg(long, default_value = recall_lab::embed::DEFAULT_MODEL, conflicts_with = "model_dir")]
    pub model: String,
    /// Folder with another ONNX sentence model (model.onnx + tokenizer files).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    #[arg(long, default_value_t = EmbedOptions::default().batch_size)]
    pub batch_size: usize,
    /// Model sessions embedding batches side by side (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// ONNX Runtime threads of each session (0: the cores divided by the workers).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Titles per checkpoint part (a kill loses at most this much work).
    #[arg(long, default_value_t = EmbedOptions::default().checkpoint_every)]
    pub checkpoint_every: usize,
}

#[derive(Args, Clone)]
pub struct IndexArgs {
    /// Where the vectors go: FAISS in the data dir, or a Milvus server (--milvus-uri). Default:
    /// the engine of the data dir's last build, else FAISS.
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// The Milvus server, e.g. http://localhost:19530 (with --engine milvus).
    #[arg(long, value_name = "URI")]
    pub milvus_uri: Option<String>,
    /// The Milvus alias serving this data dir; each build is a collection NAME_<build id>
    /// (default: recall_lab).
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// The Milvus collection's vector index: ivf-flat (full vectors, FAISS IVFFlat's scores),
    /// or the compressed ivf-sq8 (1 byte a dimension) and ivf-pq (1 byte per 8 dimensions).
    #[arg(long, value_enum, default_value = "ivf-flat")]
    pub milvus_index: MilvusIndexArg,
    /// Any FAISS index-factory string (default IVF{nlist},Flat).
    #[arg(long)]
    pub factory: Option<String>,
    /// Inverted lists (default about 4·√N, at least 39 training points per list).
    #[arg(long)]
    pub nlist: Option<usize>,
    /// Default nprobe (default: the smallest reaching recall@10 ≥ 0.96 on a sample).
    #[arg(long)]
    pub nprobe: Option<usize>,
}

#[derive(Args, Clone)]
pub struct CfArgs {
    /// Neighbours kept per item.
    #[arg(long, default_value_t = CfOptions::default().k)]
    pub k: usize,
    /// Users who must have clicked both items of a pair.
    #[arg(long, default_value_t = CfOptions::default().min_support)]
    pub min_support: u32,
    /// Most recently clicked distinct items of a user that count.
    #[arg(long, default_value_t = CfOptions::default().max_user_items)]
    pub max_user_items: usize,
    /// Half-life of a click's weight in days (default: clicks never fade).
    #[arg(long)]
    pub half_life_days: Option<f64>,
}

impl CfArgs {
    pub fn options(&self) -> CfOptions {
        CfOptions {
            k: self.k,
            min_support: self.min_support,
            max_user_items: self.max_user_items,
            half_life_days: self.half_life_days,
        }
    }
}

#[derive(Args, Clone)]
pub struct RecallArgs {
    #[arg(long, default_value_t = common::DEFAULT_TOPN)]
    pub topn: usize,
    #[arg(long)]
    pub nprobe: Option<usize>,
    /// seed, rrf or weighted.
    #[arg(long, default_value = "rrf")]
    pub fusion: String,
    /// max or sum.
    #[arg(long, default_value = "max")]
    pub aggregate: String,
    /// Comma list of channels (content, cf, popular, ...); default: those on by default.
    #[arg(long)]
    pub channels: Option<String>,
    /// channel:weight list, e.g. content:1,cf:0.5 (a channel not named keeps its default).
    #[arg(long)]
    pub weights: Option<String>,
    #[arg(long, default_value_t = common::DEFAULT_RECENT_CLICKS)]
    pub recent_clicks: usize,
    #[arg(long)]
    pub category: Option<i64>,
    #[arg(long)]
    pub min_price: Option<f64>,
    #[arg(long)]
    pub max_price: Option<f64>,
    #[arg(long)]
    pub min_stars: Option<f64>,
}

impl RecallArgs {
    /// The flags as query pairs, read by `common`'s one parser of recall parameters.
    pub fn params(&self) -> Result<common::RecallParams> {
        let text = |v: Option<String>| v.unwrap_or_default();
        let pairs = [
            ("topn", self.topn.to_string()),
            ("nprobe", text(self.nprobe.map(|v| v.to_string()))),
            ("fusion", self.fusion.clone()),
            ("aggregate", self.aggregate.clone()),
            ("channels", text(self.channels.clone())),
            ("weights", text(self.weights.clone())),
            ("recent_clicks", self.recent_clicks.to_string()),
            ("category", text(self.category.map(|v| v.to_string()))),
            ("min_price", text(self.min_price.map(|v| v.to_string()))),
            ("max_price", text(self.max_price.map(|v| v.to_string()))),
            ("min_stars", text(self.min_stars.map(|v| v.to_string()))),
        ];
        Ok(common::RecallParams::from_pairs(
            pairs.iter().map(|(k, v)| (*k, v.as_str())),
        )?)
    }
}

impl EmbedArgs {
    pub fn options(&self) -> EmbedOptions {
        EmbedOptions {
            model: ModelChoice::from_args(&self.model, self.model_dir.as_deref()),
            batch_size: self.batch_size,
            workers: self.workers,
            threads: self.threads,
            checkpoint_every: self.checkpoint_every,
        }
    }
}

/// `--milvus-index`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MilvusIndexArg {
    IvfFlat,
    IvfSq8,
    IvfPq,
}

/// `--engine`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Faiss,
    Milvus,
}

impl IndexArgs {
    pub fn options(&self) -> anyhow::Result<IndexOptions> {
        let engine = match (self.engine, &self.milvus_uri) {
            (Some(EngineKind::Milvus), Some(uri)) => Some(EngineTarget::Milvus {
                uri: uri.clone(),
                alias: self.collection.clone(),
                index_type: match self.milvus_index {
                    MilvusIndexArg::IvfFlat => MilvusIndexType::IvfFlat,
                    MilvusIndexArg::IvfSq8 => MilvusIndexType::IvfSq8,
                    MilvusIndexArg::IvfPq => MilvusIndexType::IvfPq,
                },
            }),
            (Some(EngineKind::Milvus), None) => {
                anyhow::bail!("--engine milvus needs --milvus-uri http://host:19530")
            }
            (Some(EngineKind::Faiss), None) if self.collection.is_none() => {
                Some(EngineTarget::Faiss)
            }
            (None, None) if self.collection.is_none() => None,
            _ => anyhow::bail!("--milvus-uri and --collection go with --engine milvus"),
        };
        Ok(IndexOptions {
            engine,
            factory: self.factory.clone(),
            nlist: self.nlist,
            nprobe: self.nprobe,
            ..IndexOptions::default()
        })
    }
}

fn parse_map(s: &str) -> std::result::Result<(String, String), String> {
    let (source, target) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("expected SOURCE=FIELD, got {s:?}"))?;
    Ok((source.to_owned(), target.trim().to_owned()))
}
