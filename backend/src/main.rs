//! `recall-lab`: the command line over the engine (import, embed, index, build, recall, similar,
//! clicks, simulate, eval, serve). Thin glue: parse flags, call the library, print.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use recall_lab::catalog::{self, Source};
use recall_lab::embed::EmbedOptions;
use recall_lab::index::IndexOptions;
use recall_lab::layout::Layout;
use recall_lab::pipeline::{self, BuildOptions, Progress};
use recall_lab::recall::{Engine, EngineOptions};
use recall_lab::server::config::{ServeConfig, ServeOverrides};
use recall_lab::{Asin, UserId, clicks, simulate};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "recall-lab",
    version,
    about = "Product recall over FAISS, title embeddings and co-clicks"
)]
struct Cli {
    /// Folder with recommend.db, product_emb.npy, asin_list.txt, faiss.index, products.rows and
    /// manifest.json.
    /// [default: ./data]
    #[arg(long, global = true, env = "RECALL_LAB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Category precision@K of item-to-item neighbours.
    Precision {
        #[arg(long, default_value_t = 10)]
        k: usize,
    },
    /// Quality evaluation: ANN recall sweep, category precision, held-out sessions; writes
    /// eval_report.json and eval_report.html.
    Eval {
        /// Output folder [default: DATA_DIR/eval].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        #[arg(long, default_value_t = 500)]
        samples: usize,
    },
    /// Write the demo catalog (synthetic products, no downloaded data) as CSV files.
    DemoCatalog {
        #[arg(long, default_value = "backend/demo")]
        out: PathBuf,
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
enum ClicksCommand {
    Add { user: String, asins: Vec<String> },
    List { user: String },
    Clear { user: String },
}

#[derive(Args, Clone)]
struct SourceArgs {
    /// The products CSV (the seed's columns).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// An SQLite file with the seed's amazon_products table, instead of a CSV.
    #[arg(long, conflicts_with = "csv")]
    sqlite: Option<PathBuf>,
    /// `id,category_name` CSV.
    #[arg(long)]
    categories: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct ImportArgs {
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args, Clone)]
struct EmbedArgs {
    /// Folder with another ONNX sentence model (model.onnx + tokenizer files).
    #[arg(long)]
    model_dir: Option<PathBuf>,
    #[arg(long, default_value_t = EmbedOptions::default().batch_size)]
    batch_size: usize,
    /// Model sessions embedding batches side by side (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// ONNX Runtime threads of each session (0: the cores divided by the workers).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Titles per checkpoint part (a kill loses at most this much work).
    #[arg(long, default_value_t = EmbedOptions::default().checkpoint_every)]
    checkpoint_every: usize,
}

#[derive(Args, Clone)]
struct IndexArgs {
    /// Any FAISS index-factory string (default IVF{nlist},Flat).
    #[arg(long)]
    factory: Option<String>,
    /// Inverted lists (default about 4·√N, at least 39 training points per list).
    #[arg(long)]
    nlist: Option<usize>,
    /// Default nprobe (default: the smallest reaching recall@10 ≥ 0.96 on a sample).
    #[arg(long)]
    nprobe: Option<usize>,
}

#[derive(Args, Clone)]
struct RecallArgs {
    #[arg(long, default_value_t = common::DEFAULT_TOPN)]
    topn: usize,
    #[arg(long)]
    nprobe: Option<usize>,
    /// seed, rrf or weighted.
    #[arg(long, default_value = "rrf")]
    fusion: String,
    /// max or sum.
    #[arg(long, default_value = "max")]
    aggregate: String,
    /// Comma list of channels (content, cf, popular, ...); default: those on by default.
    #[arg(long)]
    channels: Option<String>,
    /// channel:weight list, e.g. content:1,cf:0.5 (a channel not named keeps its default).
    #[arg(long)]
    weights: Option<String>,
    #[arg(long, default_value_t = common::DEFAULT_RECENT_CLICKS)]
    recent_clicks: usize,
    #[arg(long)]
    category: Option<i64>,
    #[arg(long)]
    min_price: Option<f64>,
    #[arg(long)]
    max_price: Option<f64>,
    #[arg(long)]
    min_stars: Option<f64>,
}

impl RecallArgs {
    /// The flags as query pairs, read by `common`'s one parser of recall parameters.
    fn params(&self) -> Result<common::RecallParams> {
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
    fn options(&self) -> EmbedOptions {
        EmbedOptions {
            model_dir: self.model_dir.clone(),
            batch_size: self.batch_size,
            workers: self.workers,
            threads: self.threads,
            checkpoint_every: self.checkpoint_every,
        }
    }
}

impl IndexArgs {
    fn options(&self) -> IndexOptions {
        IndexOptions {
            factory: self.factory.clone(),
            nlist: self.nlist,
            nprobe: self.nprobe,
            ..IndexOptions::default()
        }
    }
}

/// Progress bars on stderr (hidden with --json or when stderr is not a terminal).
struct Bars {
    hidden: bool,
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
fn shown(v: Option<usize>) -> String {
    v.map_or_else(|| "none (flat index)".to_owned(), |v| v.to_string())
}

fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text(value);
    }
    Ok(())
}

fn print_import(r: &catalog::ImportReport) {
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

fn main() -> Result<()> {
    recall_lab::util::keep_freed_memory();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ort=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs sent to a file stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let layout = Layout::new(
        cli.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data")),
    );
    let bars = Bars {
        hidden: cli.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let json = cli.json;
    match cli.command {
        Command::Import(a) => {
            std::fs::create_dir_all(&layout.dir)
                .with_context(|| format!("creating {}", layout.dir.display()))?;
            let src = match (&a.source.csv, &a.source.sqlite) {
                (Some(p), _) => Source::Csv(p),
                (None, Some(p)) => Source::Sqlite(p),
                (None, None) => anyhow::bail!("give --csv FILE or --sqlite FILE"),
            };
            let bar = bars.stage("import", None);
            let r = catalog::import(
                &layout.db(),
                src,
                a.source.categories.as_deref(),
                &layout.rejects(),
                &bar,
            )?;
            bar.finish_and_clear();
            print(json, &r, print_import)?;
        }
        Command::Embed(a) => {
            let bar = bars.stage("embed", Some(0));
            let r = recall_lab::embed::run(&layout, &a.options(), &bar)?;
            bar.finish_and_clear();
            print(json, &r, |r| {
                println!(
                    "embed: {} rows, {} embedded, {} reused, {:.0} titles/s ({:.1}s)",
                    r.rows, r.embedded, r.reused, r.titles_per_second, r.seconds
                )
            })?;
        }
        Command::Index(a) => {
            let r = recall_lab::index::build(&layout, &a.options())?;
            print(json, &r, |r| {
                println!(
                    "index: {} over {} vectors, nlist {}, default nprobe {} (recall@10 {:.3}), {:.1}s",
                    r.factory,
                    r.count,
                    shown(r.nlist),
                    shown(r.default_nprobe),
                    r.recall_at_10.unwrap_or(1.0),
                    r.seconds
                )
            })?;
        }
        Command::Build {
            import,
            embed,
            index,
        } => {
            let opts = BuildOptions {
                csv: import.csv,
                sqlite: import.sqlite,
                categories: import.categories,
                embed: embed.options(),
                index: index.options(),
            };
            let r = pipeline::build(&layout, &opts, &bars)?;
            print(json, &r, |r| {
                if let Some(i) = &r.import {
                    print_import(i);
                }
                println!(
                    "embed: {} rows, {} embedded, {} reused ({:.1}s)",
                    r.embed.rows, r.embed.embedded, r.embed.reused, r.embed.seconds
                );
                println!(
                    "index: {} nlist {} default nprobe {} ({:.1}s)",
                    r.index.factory,
                    shown(r.index.nlist),
                    shown(r.index.default_nprobe),
                    r.index.seconds
                );
                println!(
                    "build: done in {:.1}s; data in {}",
                    r.seconds,
                    layout.dir.display()
                );
            })?;
        }
        Command::Recall { user, params } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let r = engine.recall_user(&UserId::parse(&user)?, &params.params()?)?;
            print(json, &r, |r| {
                for i in &r.items {
                    println!(
                        "{:>4} {:.4} {:<7} {} {}",
                        i.rank,
                        i.score,
                        channel_tags(&i.channels),
                        i.product.asin,
                        i.product.title
                    );
                }
                for w in &r.warnings {
                    eprintln!("note: {w}");
                }
                let channels: Vec<String> = r
                    .timings
                    .channels_ms
                    .iter()
                    .map(|(c, ms)| format!("{c} {ms:.1}"))
                    .collect();
                println!(
                    "{} items in {:.1} ms ({}, enrich {:.1})",
                    r.items.len(),
                    r.timings.total_ms,
                    channels.join(", "),
                    r.timings.enrich_ms
                );
            })?;
        }
        Command::Similar { asin, k, nprobe } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let r = engine.similar(&Asin::parse(&asin)?, k, nprobe)?;
            print(json, &r, print_neighbours)?;
        }
        Command::Search { text, k } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let r = engine.search_text(&text, k)?;
            print(json, &r, print_neighbours)?;
        }
        Command::Clicks { action } => {
            let conn = catalog::open(&layout.db())?;
            match action {
                ClicksCommand::Add { user, asins } => {
                    let user = UserId::parse(&user)?;
                    let mut added = Vec::new();
                    for a in &asins {
                        added.push(clicks::add_click(&conn, &user, &Asin::parse(a)?)?);
                    }
                    print(json, &added, |a| {
                        println!("added {} clicks for {user}", a.len())
                    })?;
                }
                ClicksCommand::List { user } => {
                    let list = clicks::list_clicks(&conn, &UserId::parse(&user)?)?;
                    print(json, &list, |l| {
                        l.iter()
                            .for_each(|c| println!("{} {} {}", c.id, c.click_time, c.asin))
                    })?;
                }
                ClicksCommand::Clear { user } => {
                    let n = clicks::clear_clicks(&conn, &UserId::parse(&user)?)?;
                    print(json, &serde_json::json!({ "cleared": n }), |_| {
                        println!("cleared {n} clicks")
                    })?;
                }
            }
        }
        Command::Simulate {
            users,
            min_clicks,
            max_clicks,
            seed,
            prefix,
        } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let r = simulate::simulate(
                &engine,
                &simulate::SimOptions {
                    users,
                    min_clicks,
                    max_clicks,
                    seed,
                    prefix,
                    replace: true,
                },
            )?;
            print(json, &r, |r| {
                println!(
                    "simulated {} users, {} clicks ({:.0}% within a category)",
                    r.users,
                    r.clicks,
                    r.same_category_share * 100.0
                )
            })?;
        }
        Command::Precision { k } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let index = recall_lab::eval::category_precision(
                &engine,
                k,
                recall_lab::eval::Neighbours::Index,
            )?;
            let exact = recall_lab::eval::category_precision(
                &engine,
                k,
                recall_lab::eval::Neighbours::Exact,
            )?;
            let v = serde_json::json!({ "k": k, "index": index, "exact": exact });
            print(json, &v, |_| {
                println!(
                    "category precision@{k}: {index:.4} with the index, {exact:.4} with exact search"
                )
            })?;
        }
        Command::Eval {
            out,
            sessions,
            samples,
        } => {
            let out = out.unwrap_or_else(|| layout.dir.join("eval"));
            let opts = recall_lab::eval::EvalOptions {
                sessions,
                samples,
                ..Default::default()
            };
            let r = recall_lab::eval::run(&layout, &opts)?;
            recall_lab::eval::write_reports(&r, &out)?;
            print(json, &r, |r| {
                for p in &r.ann_at_10.points {
                    println!(
                        "nprobe {:>5}: recall@10 {:.3}  ann {:.3} ms  exact {:.3} ms",
                        shown(p.nprobe),
                        p.recall,
                        p.ann_ms,
                        p.exact_ms
                    );
                }
                for p in &r.precision {
                    println!(
                        "category precision@{}: index {:.4}, exact {:.4}",
                        p.k, p.index, p.exact
                    );
                }
                for row in &r.held_out.rows {
                    let cells: Vec<String> = r
                        .held_out
                        .ks
                        .iter()
                        .zip(row.hit_rate.iter().zip(&row.ndcg))
                        .map(|(k, (h, n))| format!("hit@{k} {h:.3} ndcg@{k} {n:.3}"))
                        .collect();
                    println!("{:<26} {}", row.config, cells.join("  "));
                }
                println!(
                    "reports: {}/eval_report.json and eval_report.html",
                    out.display()
                );
            })?;
        }
        Command::DemoCatalog { out } => {
            let cat = recall_lab::demo::generate(
                recall_lab::demo::DEMO_SEED,
                recall_lab::demo::DEMO_PRODUCTS,
            );
            recall_lab::demo::write_csv(&cat, &out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} products in {} categories to {}",
                cat.rows.len(),
                cat.categories.len(),
                out.display()
            );
        }
        Command::Serve {
            addr,
            dist_dir,
            config,
            model_dir,
        } => {
            let overrides = ServeOverrides {
                addr,
                data_dir: cli.data_dir.clone(),
                dist_dir,
                model_dir,
            };
            let cfg = ServeConfig::load(config.as_deref(), &overrides)
                .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
            let state =
                recall_lab::server::AppState::open(cfg).context("cannot start the server")?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(recall_lab::server::serve(state))?;
        }
    }
    Ok(())
}

fn channel_tags(c: &common::ChannelScores) -> String {
    c.keys().map(String::as_str).collect::<Vec<_>>().join("+")
}

fn print_neighbours(r: &common::NeighboursResponse) {
    for i in &r.items {
        println!(
            "{:>4} {:.4} {} {}",
            i.rank, i.score, i.product.asin, i.product.title
        );
    }
}
