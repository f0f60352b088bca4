//! The quality chart: ANN recall@k against nprobe (log scale), drawn as SVG elements, with the
//! build's default nprobe marked.

use common::AnnEval;
use leptos::prelude::*;

const W: f64 = 560.0;
const H: f64 = 260.0;
const LEFT: f64 = 50.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;
const RIGHT: f64 = 14.0;

fn y_of(recall: f64) -> f64 {
    H - BOTTOM - recall * (H - TOP - BOTTOM)
}

/// Recall against nprobe, one dot per measured nprobe (its latency in the tooltip), with the
/// build's default nprobe marked.
#[component]
pub fn RecallChart(
    eval: AnnEval,
    #[prop(default = None)] default_nprobe: Option<usize>,
) -> impl IntoView {
    let xs: Vec<f64> = eval
        .points
        .iter()
        .map(|p| (p.nprobe.unwrap_or(1) as f64).log2())
        .collect();
    let xmax = xs.iter().copied().fold(1.0, f64::max);
    let x_of = move |x: f64| LEFT + x / xmax * (W - LEFT - RIGHT);
    let line = xs
        .iter()
        .zip(&eval.points)
        .map(|(x, p)| format!("{:.1},{:.1}", x_of(*x), y_of(p.recall)))
        .collect::<Vec<_>>()
        .join(" ");
    let k = eval.points.first().map_or(10, |p| p.k);
    let grid = (0..=4).map(|i| {
        let v = f64::from(i) / 4.0;
        let y = y_of(v);
        view! {
            <line x1=LEFT.to_string() x2=(W - RIGHT).to_string() y1=y.to_string() y2=y.to_string() stroke="#eee" />
            <text x=(LEFT - 4.0).to_string() y=(y + 4.0).to_string() text-anchor="end">{format!("{v:.2}")}</text>
        }
    });
    let dots = xs.into_iter().zip(eval.points).map(move |(x, p)| {
        let nprobe = p.nprobe.unwrap_or(1);
        let cx = format!("{:.1}", x_of(x));
        view! {
            <circle cx=cx.clone() cy=format!("{:.1}", y_of(p.recall)) r="3.5" fill="#2563eb">
                <title>{format!("nprobe {nprobe}: recall {:.3}, {:.3} ms", p.recall, p.ann_ms)}</title>
            </circle>
            <text x=cx y=(H - BOTTOM + 14.0).to_string() text-anchor="middle">{nprobe}</text>
        }
    });
    let marker = default_nprobe.map(|n| {
        let x = format!("{:.1}", x_of((n.max(1) as f64).log2()));
        view! {
            <line x1=x.clone() x2=x.clone() y1=TOP.to_string() y2=(H - BOTTOM).to_string() stroke="#f59f00" stroke-width="1.5" stroke-dasharray="4 3" data-testid="default-nprobe" />
            <text x=x y=(H - BOTTOM - 6.0).to_string() text-anchor="start" dx="4" fill="#b54708">{format!("default {n}")}</text>
        }
    });
    let label = match default_nprobe {
        Some(n) => format!("recall against nprobe; the build's default nprobe {n} is marked"),
        None => "recall against nprobe".to_owned(),
    };
    view! {
        <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=label font-size="11" font-family="sans-serif">
            {grid.collect_view()}
            {marker}
            <polyline fill="none" stroke="#2563eb" stroke-width="2.5" points=line />
            {dots.collect_view()}
            <text x=((LEFT + W) / 2.0).to_string() y=(H - 6.0).to_string() text-anchor="middle">"nprobe"</text>
            <text x="12" y=(H / 2.0).to_string() transform=format!("rotate(-90 12 {})", H / 2.0) text-anchor="middle">{format!("recall@{k}")}</text>
        </svg>
    }
}
