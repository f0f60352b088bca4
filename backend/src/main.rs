//! `recall-lab`: the command line over the engine (import, embed, index, build, recall, similar,
//! clicks, cf, simulate, eval, images, scenarios, report, serve). Thin glue: parse flags (`cli/args.rs`), call the
//! library, print (`cli/output.rs`).

#[path = "cli/args.rs"]
mod args;
#[path = "cli/images.rs"]
mod images;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/scenarios.rs"]
mod scenarios;

use anyhow::{Context, Result};
use args::{Cli, ClicksCommand, Command};
use clap::Parser;
use output::{Bars, channel_tags, print, print_cf, print_import, print_neighbours, shown};
use recall_lab::catalog::{self, Source};
use recall_lab::cf::CfOptions;
use recall_lab::layout::Layout;
use recall_lab::pipeline::{self, BuildOptions, Progress};
use recall_lab::recall::{Engine, EngineOptions};
use recall_lab::server::config::{ServeConfig, ServeOverrides};
use recall_lab::{Asin, UserId, clicks, simulate};
use std::path::PathBuf;

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
            let r = catalog::import_mapped(
                &layout.db(),
                src,
                &a.source.map,
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
            let bar = bars.stage("index", Some(0));
            let r = recall_lab::index::build(&layout, &a.options()?, &bar)?;
            bar.finish_and_clear();
            print(json, &r, |r| {
                println!(
                    "index: {} {} over {} vectors, nlist {}, default nprobe {} (recall@10 {:.3}), {:.1}s",
                    r.engine,
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
            draw_images,
            no_map,
        } => {
            let opts = BuildOptions {
                csv: import.csv,
                sqlite: import.sqlite,
                categories: import.categories,
                map: import.map,
                embed: embed.options(),
                index: index.options()?,
                cf: CfOptions::default(),
                draw_images,
                skip_map: no_map,
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
                print_cf(&r.cf);
                if let Some(m) = &r.map {
                    println!("map: {} points, {} ({:.1}s)", m.points, m.method, m.seconds);
                }
                if let Some(i) = &r.images {
                    println!("images: {} drawn, {} already had one", i.drawn, i.kept);
                }
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
                ClicksCommand::Import { file, format } => {
                    let format = match format.as_deref() {
                        None => clicks::import::ClickFormat::of(&file),
                        Some("csv") => clicks::import::ClickFormat::Csv,
                        Some("jsonl" | "ndjson" | "json") => clicks::import::ClickFormat::JsonLines,
                        Some(other) => anyhow::bail!("unknown format {other}: csv or jsonl"),
                    };
                    let mut conn = conn;
                    let bar = bars.stage("clicks", None);
                    let r = clicks::import::import(&mut conn, &file, format, &bar)?;
                    bar.finish_and_clear();
                    print(json, &r, |r| {
                        for b in r.bad_lines.iter().take(50) {
                            eprintln!("line {}: {}", b.line, b.reason);
                        }
                        if r.rejected as usize > r.bad_lines.len().min(50) {
                            eprintln!(
                                "... {} bad lines in all (--json lists the first 1,000)",
                                r.rejected
                            );
                        }
                        println!(
                            "clicks: {} records, {} added, {} already stored, {} rejected, {} new users ({:.1}s, {:.0} lines/s)",
                            r.records,
                            r.added,
                            r.already_stored,
                            r.rejected,
                            r.new_users,
                            r.seconds,
                            r.lines_per_second
                        );
                        if r.added > 0 {
                            println!(
                                "the CF model is rebuilt by a running server, or by `recall-lab cf`"
                            );
                        }
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
            let engine = Engine::open(layout.clone(), &EngineOptions::default())?;
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
            drop(engine);
            let cf = recall_lab::cf::rebuild(&layout, &CfOptions::default())?.meta;
            print(json, &(&r, &cf), |(r, cf)| {
                println!(
                    "simulated {} users, {} clicks ({:.0}% within a category)",
                    r.users,
                    r.clicks,
                    r.same_category_share * 100.0
                );
                print_cf(cf);
            })?;
        }
        Command::Cf(a) => {
            let cf = recall_lab::cf::rebuild(&layout, &a.options())?.meta;
            print(json, &cf, print_cf)?;
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
                match &r.fidelity {
                    Some(f) => println!(
                        "model {} against {} on {} titles: cosine {:.4} (min {:.4}), top-10 overlap {:.3}",
                        r.model,
                        f.reference,
                        f.titles,
                        f.cosine_mean,
                        f.cosine_min,
                        f.top10_overlap
                    ),
                    None => println!(
                        "model {}: fidelity not measured (the fp32 reference model is not installed)",
                        r.model
                    ),
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
        Command::Report { out, csv } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let (scenarios, judged) = recall_lab::review::with_judgments(&*engine.conn()?)?;
            let html = recall_lab::review::report(&engine, &scenarios, &judged)?;
            let csv = csv.unwrap_or_else(|| out.with_extension("csv"));
            let table = recall_lab::review::judgments_csv(&scenarios, &judged);
            for (path, text) in [(&out, &html), (&csv, &table)] {
                recall_lab::layout::write_atomic(path, |w| {
                    std::io::Write::write_all(w, text.as_bytes())
                })?;
            }
            let v = serde_json::json!({ "report": out, "judgments_csv": csv, "scenarios": scenarios.len() });
            print(json, &v, |_| {
                println!(
                    "wrote the review report of {} scenarios to {} and its judgments to {}",
                    scenarios.len(),
                    out.display(),
                    csv.display()
                )
            })?;
        }
        Command::Map { max_points, epochs } => {
            let opts = recall_lab::map::MapOptions {
                max_points,
                epochs,
                ..Default::default()
            };
            let r = recall_lab::map::build(&layout, &opts)?;
            print(json, &r, |r| {
                println!("map: {} points, {} ({:.1}s)", r.points, r.method, r.seconds)
            })?;
        }
        Command::Images { action } => images::run(&layout, action, json, &bars)?,
        Command::Scenarios { action } => {
            let code = scenarios::run(layout, action, json)?;
            if code != 0 {
                std::process::exit(code);
            }
        }
        Command::Models => {
            for m in recall_lab::embed::MODELS {
                let mark = if m.name == recall_lab::embed::DEFAULT_MODEL {
                    " (default)"
                } else if m.name == recall_lab::embed::REFERENCE_MODEL {
                    " (reference)"
                } else {
                    ""
                };
                let here = if recall_lab::embed::models::installed(m) {
                    "installed"
                } else {
                    "missing: run scripts/setup.sh"
                };
                println!("{}{mark}\n  {}\n  {here}", m.name, m.summary);
            }
        }
        Command::DemoCatalog { out, products } => {
            let cat = recall_lab::demo::generate(recall_lab::demo::DEMO_SEED, products);
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
            // One worker more than the work slots: recalls run on the workers that hold a slot,
            // so one is always free for health checks, clicks and the app's files.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(state.config.max_concurrent_work.max(1) + 1)
                .enable_all()
                .build()?;
            rt.block_on(recall_lab::server::serve(state))?;
        }
    }
    Ok(())
}
