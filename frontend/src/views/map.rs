//! The Map view: the catalog's title embeddings laid out in 2D (made once per build by the
//! server), coloured by category, with the current clicks and the current recall on top, so
//! that a stakeholder sees at a glance where the recall went relative to the clicks. Hover a
//! point for its card, click it to open its similar items; wheel, drag or the buttons zoom and
//! pan.

use super::recall::{answer_asins, recall_resource};
use crate::api::{self, ApiError};
use crate::components::{Loaded, ProductImage};
use crate::state::{InCatalog, ctx};
use common::{CatalogMap, Product};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};

/// Category colours (Tableau 20), cycled when a catalog has more categories.
const PALETTE: [&str; 20] = [
    "#4e79a7", "#a0cbe8", "#f28e2b", "#ffbe7d", "#59a14f", "#8cd17d", "#b6992d", "#f1ce63",
    "#499894", "#86bcb6", "#e15759", "#ff9d9a", "#79706e", "#bab0ac", "#d37295", "#fabfd2",
    "#b07aa1", "#d4a6c8", "#9d7660", "#d7b5a6",
];

/// The visible square of the map, in map units (the whole map is 0..=1000 on both axes).
#[derive(Clone, Copy, PartialEq)]
struct ViewBox {
    x: f64,
    y: f64,
    w: f64,
}

impl ViewBox {
    const ALL: ViewBox = ViewBox {
        x: -20.0,
        y: -20.0,
        w: 1040.0,
    };
    /// Zoomed by `f` (> 1: in) around the map point `(cx, cy)`.
    fn zoom(self, f: f64, cx: f64, cy: f64) -> ViewBox {
        let w = (self.w / f).clamp(15.0, 1040.0);
        let k = w / self.w;
        ViewBox {
            x: cx - (cx - self.x) * k,
            y: cy - (cy - self.y) * k,
            w,
        }
    }
    fn attr(self) -> String {
        format!("{:.2} {:.2} {:.2} {:.2}", self.x, self.y, self.w, self.w)
    }
}

fn colour(category_id: i64) -> &'static str {
    PALETTE[(category_id.unsigned_abs() as usize) % PALETTE.len()]
}

#[component]
pub fn Map() -> impl IntoView {
    let map = LocalResource::new(|| api::get::<CatalogMap>("/api/map"));
    let pending = RwSignal::new(false);
    view! {
        <Loaded pending=pending>
            {move || Suspend::new(async move {
                let m = map.await?;
                Ok::<_, ApiError>(view! { <MapCanvas map=m /> })
            })}
        </Loaded>
    }
}

#[component]
fn MapCanvas(map: CatalogMap) -> impl IntoView {
    let c = ctx();
    let recall = recall_resource(c.params);
    let vb = RwSignal::new(ViewBox::ALL);
    let hovered = RwSignal::new(None::<(String, f64, f64)>);
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    // Pointer position when a drag started, and the view box then.
    let drag = StoredValue::new(None::<(f64, f64, ViewBox, bool)>);

    let names: HashMap<i64, String> = c
        .categories
        .get_untracked()
        .and_then(Result::ok)
        .unwrap_or_default()
        .into_iter()
        .map(|k| (k.id, k.name))
        .collect();
    let position: HashMap<String, (f32, f32)> = map
        .points
        .iter()
        .map(|p| (p.asin.clone(), (p.x, p.y)))
        .collect();
    let position = StoredValue::new(position);
    let points = StoredValue::new(map.points.clone());

    // One path of dots per category: thousands of points as a few elements.
    let mut by_category: HashMap<i64, String> = HashMap::new();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for p in &map.points {
        let d = by_category.entry(p.category_id).or_default();
        d.push_str(&format!("M{:.1} {:.1}h0", p.x, p.y));
        *counts.entry(p.category_id).or_default() += 1;
    }
    let mut legend: Vec<(i64, usize)> = counts.into_iter().collect();
    legend.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let layers = by_category
        .into_iter()
        .map(|(k, d)| view! { <path d=d stroke=colour(k) class="map-dots" /> })
        .collect_view();

    let clicks = Memo::new(move |_| {
        c.scenario_clicks.get().unwrap_or_else(|| {
            c.history
                .get()
                .and_then(Result::ok)
                .map(|h| h.into_iter().map(|k| k.asin).collect())
                .unwrap_or_default()
        })
    });
    let recalled = Memo::new(move |_| {
        recall
            .get()
            .and_then(Result::ok)
            .map(|r| answer_asins(&r))
            .unwrap_or_default()
    });

    // Map coordinates of a pointer event, and its place in the container in pixels.
    let locate = move |x: i32, y: i32| -> Option<(f64, f64, f64, f64, f64)> {
        let svg = svg_ref.get()?;
        let rect = svg.get_bounding_client_rect();
        let (px, py) = (x as f64 - rect.left(), y as f64 - rect.top());
        let v = vb.get_untracked();
        Some((
            v.x + px / rect.width() * v.w,
            v.y + py / rect.height() * v.w,
            px,
            py,
            rect.width(),
        ))
    };
    // The point nearest to a pointer, within 10 screen pixels.
    let nearest = move |mx: f64, my: f64, width: f64| -> Option<String> {
        let reach = 10.0 * vb.get_untracked().w / width;
        points.with_value(|ps| {
            ps.iter()
                .map(|p| {
                    let (dx, dy) = (p.x as f64 - mx, p.y as f64 - my);
                    (dx * dx + dy * dy, p)
                })
                .filter(|(d, _)| *d <= reach * reach)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, p)| p.asin.clone())
        })
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        let Some((mx, my, px, py, width)) = locate(ev.client_x(), ev.client_y()) else {
            return;
        };
        if let Some((x0, y0, start, _)) = drag.get_value() {
            let moved = (ev.client_x() as f64 - x0).hypot(ev.client_y() as f64 - y0) > 4.0;
            if moved {
                let k = start.w / width;
                vb.set(ViewBox {
                    x: start.x - (ev.client_x() as f64 - x0) * k,
                    y: start.y - (ev.client_y() as f64 - y0) * k,
                    w: start.w,
                });
                drag.set_value(Some((x0, y0, start, true)));
                hovered.set(None);
                return;
            }
        }
        hovered.set(nearest(mx, my, width).map(|a| (a, px, py)));
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        drag.set_value(Some((
            ev.client_x() as f64,
            ev.client_y() as f64,
            vb.get_untracked(),
            false,
        )));
    };
    let on_up = move |ev: web_sys::PointerEvent| {
        let dragged = drag.get_value().is_some_and(|d| d.3);
        drag.set_value(None);
        if dragged {
            return;
        }
        if let Some((mx, my, _, _, width)) = locate(ev.client_x(), ev.client_y())
            && let Some(asin) = nearest(mx, my, width)
        {
            c.similar_of.set(Some(InCatalog::here(asin)));
        }
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        if let Some((mx, my, ..)) = locate(ev.client_x(), ev.client_y()) {
            let f = if ev.delta_y() < 0.0 { 1.25 } else { 0.8 };
            vb.update(|v| *v = v.zoom(f, mx, my));
        }
    };
    let zoom_centre = move |f: f64| {
        vb.update(|v| {
            let (cx, cy) = (v.x + v.w / 2.0, v.y + v.w / 2.0);
            *v = v.zoom(f, cx, cy)
        })
    };
    // Highlights keep their size on screen whatever the zoom.
    let unit = move || vb.get().w / 1000.0;

    let marks = move || {
        let u = unit();
        let clicked: HashSet<String> = clicks.get().into_iter().collect();
        let recalled_marks = position.with_value(|pos| {
            recalled
                .get()
                .into_iter()
                .filter(|a| !clicked.contains(a))
                .filter_map(|a| pos.get(&a).map(|&(x, y)| (a, x, y)))
                .map(|(a, x, y)| view! {
                    <circle cx=x cy=y r=5.0 * u class="map-recalled" data-testid="map-recalled" data-asin=a />
                })
                .collect_view()
        });
        let click_marks = position.with_value(|pos| {
            clicked
                .iter()
                .filter_map(|a| pos.get(a).map(|&(x, y)| (a.clone(), x, y)))
                .map(|(a, x, y)| view! {
                    <circle cx=x cy=y r=9.0 * u class="map-click" data-testid="map-click" data-asin=a />
                })
                .collect_view()
        });
        view! { <g>{recalled_marks}</g><g>{click_marks}</g> }
    };

    let shown = map.points.len();
    let total = map.products;
    let method = map.method.clone();
    let on_map = move |list: Vec<String>| {
        position.with_value(|pos| list.iter().filter(|a| pos.contains_key(*a)).count())
    };
    let summary = move || {
        let (k, r) = (clicks.get(), recalled.get());
        format!(
            "{} of {} clicks and {} of {} recalled items on the map",
            on_map(k.clone()),
            k.len(),
            on_map(r.clone()),
            r.len()
        )
    };
    let sample_note = (shown < total).then(|| format!(" (a sample of {shown} of {total})"));
    let legend_names = names.clone();

    view! {
        <section class="map-view" aria-label="Catalog map">
            <div class="map-head">
                <p class="status" data-testid="map-status">
                    {format!("{shown} products{}", sample_note.unwrap_or_default())}" · "{summary}
                </p>
                <div class="map-tools" role="group" aria-label="Zoom">
                    <button aria-label="Zoom in" on:click=move |_| zoom_centre(1.5)>"+"</button>
                    <button aria-label="Zoom out" on:click=move |_| zoom_centre(1.0 / 1.5)>"−"</button>
                    <button aria-label="Reset view" on:click=move |_| vb.set(ViewBox::ALL)>"Reset"</button>
                </div>
            </div>
            <div class="map-body">
                <div class="map-frame">
                    <svg
                        node_ref=svg_ref
                        viewBox=move || vb.get().attr()
                        role="img"
                        aria-label=format!("Map of {shown} products by title similarity; your clicks and the recalled items are marked")
                        data-testid="catalog-map"
                        on:pointermove=on_move
                        on:pointerdown=on_down
                        on:pointerup=on_up
                        on:pointerleave=move |_| { drag.set_value(None); hovered.set(None); }
                        on:wheel=on_wheel
                    >
                        <g class:faded=move || !clicks.get().is_empty() || !recalled.get().is_empty()>{layers}</g>
                        {marks}
                    </svg>
                    {move || hovered.get().map(|(asin, x, y)| view! { <HoverCard asin=asin x=x y=y names=names.clone() /> })}
                </div>
                <aside class="map-legend" aria-label="Legend">
                    <ul>
                        <li><span class="swatch click"></span>"Your clicks"</li>
                        <li><span class="swatch recalled"></span>"Recalled"</li>
                    </ul>
                    <ul class="categories">
                        {legend.into_iter().map(|(k, n)| view! {
                            <li><span class="swatch" style=format!("background:{}", colour(k))></span>
                                {legend_names.get(&k).cloned().unwrap_or_else(|| format!("category {k}"))}
                                <small>{format!(" {n}")}</small></li>
                        }).collect_view()}
                    </ul>
                    <p class="hint">{method}". Hover a point to see it; click it for its similar items; scroll or use the buttons to zoom, drag to pan."</p>
                </aside>
            </div>
        </section>
    }
}

/// The hovered product's card, beside the pointer.
#[component]
fn HoverCard(asin: String, x: f64, y: f64, names: HashMap<i64, String>) -> impl IntoView {
    let key = asin.clone();
    let product = LocalResource::new(move || {
        let url = format!("/api/products/{}", api::enc(&key));
        async move { api::get::<Product>(&url).await }
    });
    // Left of the pointer on the right half, so the card stays inside the map.
    let style = format!(
        "left:{:.0}px;top:{:.0}px",
        if x > 180.0 { x - 172.0 } else { x + 14.0 },
        (y + 14.0).max(0.0)
    );
    view! {
        <div class="map-card" role="tooltip" data-testid="map-card" data-asin=asin.clone() style=style>
            <Transition fallback=|| view! { <small>"…"</small> }>
                {move || product.get().map(|r| r.ok().map(|p| {
                    let category = p
                        .category_name
                        .clone()
                        .or_else(|| names.get(&p.category_id).cloned())
                        .unwrap_or_default();
                    view! {
                        <ProductImage asin=p.asin.clone() url=p.img_url.clone() label=category.clone() />
                        <div class="t">{p.title.clone()}</div>
                        <small>{format!("{category} · ${:.2} · ★ {:.1}", p.price, p.stars)}</small>
                    }
                }))}
            </Transition>
        </div>
    }
}
