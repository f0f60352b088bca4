//! `recall-lab scenarios`: list, check (the gate a team runs in CI after a model or index
//! change), export and import. Thin glue over `recall_lab::review`.

use super::args::ScenariosCommand;
use super::output::print;
use anyhow::{Context, Result};
use recall_lab::catalog;
use recall_lab::layout::Layout;
use recall_lab::recall::{Engine, EngineOptions};
use recall_lab::review;

/// Runs a `scenarios` command; returns the process's exit code (1: an expectation failed).
pub fn run(layout: Layout, action: ScenariosCommand, json: bool) -> Result<i32> {
    match action {
        ScenariosCommand::List => {
            let conn = catalog::open(&layout.db())?;
            let list = review::list(&conn)?;
            let judged: Vec<usize> = list
                .iter()
                .map(|s| review::judgments(&conn, &s.id).map(|j| j.len()))
                .collect::<Result<_, _>>()?;
            print(json, &list, |l| {
                if l.is_empty() {
                    println!("no scenarios yet (save one in the app, or `scenarios import FILE`)");
                }
                for (s, n) in l.iter().zip(&judged) {
                    println!(
                        "{}  {}  {} clicks, {} expectations, {n} judgments",
                        s.id,
                        s.body.name,
                        s.body.clicks.len(),
                        s.body.expectations.len()
                    );
                }
            })?;
            Ok(0)
        }
        ScenariosCommand::Check { ids } => {
            let engine = Engine::open(layout, &EngineOptions::default())?;
            let conn = engine.conn()?;
            let list: Vec<_> = review::list(&conn)?
                .into_iter()
                .filter(|s| ids.is_empty() || ids.contains(&s.id))
                .collect();
            if let Some(missing) = ids.iter().find(|id| !list.iter().any(|s| &s.id == *id)) {
                anyhow::bail!("unknown scenario {missing}");
            }
            let mut checks = Vec::with_capacity(list.len());
            for s in &list {
                let judged = review::judgments(&conn, &s.id)?;
                checks
                    .push(review::check(&engine, s, &judged).with_context(|| {
                        format!("checking scenario {} ({})", s.id, s.body.name)
                    })?);
            }
            let failed = checks.iter().filter(|c| !c.passed).count();
            print(json, &checks, |checks| {
                for c in checks {
                    println!(
                        "{} {} ({})",
                        if c.passed { "PASS" } else { "FAIL" },
                        c.name,
                        c.id
                    );
                    for r in &c.results {
                        println!(
                            "  {} {}: {}",
                            if r.passed { "ok  " } else { "FAIL" },
                            r.description,
                            r.actual
                        );
                    }
                }
                let expectations: usize = checks.iter().map(|c| c.results.len()).sum();
                println!(
                    "{} scenarios, {expectations} expectations: {}",
                    checks.len(),
                    if failed == 0 {
                        "all passed".to_owned()
                    } else {
                        format!("{failed} scenario(s) failed")
                    }
                );
            })?;
            Ok(i32::from(failed > 0))
        }
        ScenariosCommand::Export { out } => {
            let conn = catalog::open(&layout.db())?;
            let data = review::export(&conn, None)?;
            let text = serde_json::to_string_pretty(&data)?;
            match out {
                Some(path) => {
                    recall_lab::layout::write_atomic(&path, |w| {
                        std::io::Write::write_all(w, text.as_bytes())
                    })?;
                    eprintln!(
                        "wrote {} scenarios and {} judgments to {}",
                        data.scenarios.len(),
                        data.judgments.len(),
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(0)
        }
        ScenariosCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let data: common::ScenarioExport = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a scenario export", file.display()))?;
            let mut conn = catalog::open(&layout.db())?;
            let r = review::import(&mut conn, &data)?;
            print(json, &r, |r| {
                println!(
                    "imported {} scenarios and {} judgments",
                    r.scenarios, r.judgments
                )
            })?;
            Ok(0)
        }
    }
}
