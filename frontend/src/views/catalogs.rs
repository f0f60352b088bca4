//! The Catalogs view: the server's catalogs, each openable in this tab (the URL then names it),
//! and bringing your own (admin): upload a CSV, check and fix the column each product field
//! reads with a preview of the first rows and rejects, build it while watching each stage's
//! progress, then open it.

use crate::api::{self, AdminBody, ApiError};
use crate::components::Loaded;
use crate::state::{View, ctx, open_catalog};
use common::{CatalogInfo, CatalogPreview, ColumnMapping, ColumnToField, Job, JobState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

#[component]
pub fn Catalogs() -> impl IntoView {
    let list = LocalResource::new(|| api::get::<Vec<CatalogInfo>>("/api/catalogs"));
    let current = api::catalog().unwrap_or_else(|| "default".into());
    let pending = RwSignal::new(false);
    view! {
        <section class="panel" aria-label="Catalogs">
            <h2>"Catalogs"</h2>
            <Loaded pending=pending>
                {move || {
                    let current = current.clone();
                    Suspend::new(async move {
                        let all = list.await?;
                        Ok::<_, ApiError>(view! {
                            <table class="stats" data-testid="catalog-list">
                                <tr><th>"name"</th><th>"products"</th><th>"state"</th><th></th></tr>
                                {all.into_iter().map(|k| {
                                    let here = k.name == current;
                                    let name = k.name.clone();
                                    view! {
                                        <tr data-catalog=k.name.clone()>
                                            <td><b>{k.name.clone()}</b>{here.then_some(" (this page)")}</td>
                                            <td>{k.products}</td>
                                            <td>{if k.built { "built" } else { "not built" }}</td>
                                            <td>{(k.built && !here).then(|| view! {
                                                <button aria-label=format!("Open catalog {name}")
                                                    on:click=move |_| open_catalog((!k.default).then_some(name.as_str()), View::Recall, &ctx().user.get_untracked())>"Open"</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </table>
                        })
                    })
                }}
            </Loaded>
        </section>
        <BringYourOwn list=list />
    }
}

/// Upload, mapping, build and progress.
#[component]
fn BringYourOwn(list: LocalResource<Result<Vec<CatalogInfo>, ApiError>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let file = NodeRef::<leptos::html::Input>::new();
    let preview = RwSignal::new(None::<CatalogPreview>);
    let job = RwSignal::new(None::<Job>);
    let error = RwSignal::new(None::<String>);
    // When the current build stage began (ms), for its time-left estimate.
    let stage_start = StoredValue::new((String::new(), 0.0f64));
    let path =
        move |what: &str| format!("/api/catalogs/{}/{what}", api::enc(&name.get_untracked()));

    let upload = move |_| {
        let Some(f) = file.get().and_then(|i| i.files()).and_then(|l| l.item(0)) else {
            error.set(Some("choose a CSV file first".into()));
            return;
        };
        error.set(None);
        job.set(None);
        spawn_local(async move {
            let r = api::admin::<CatalogPreview>(
                "PUT",
                &path("source"),
                &token.get_untracked(),
                Some(AdminBody::File(&f)),
            )
            .await;
            match r {
                Ok(p) => preview.set(Some(p)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let mapping = move || ColumnMapping {
        mapping: preview
            .get_untracked()
            .map(|p| {
                p.fields
                    .into_iter()
                    .filter_map(|f| {
                        Some(ColumnToField {
                            column: f.column?,
                            field: f.field,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        model: Some(model.get_untracked().trim().to_owned()).filter(|m| !m.is_empty()),
    };
    let remap = move |field: String, column: String| {
        preview.update(|p| {
            if let Some(p) = p {
                for f in &mut p.fields {
                    if f.field == field {
                        f.column = (!column.is_empty()).then(|| column.clone());
                    }
                }
            }
        });
        let body = serde_json::to_value(mapping()).unwrap_or_default();
        spawn_local(async move {
            match api::admin::<CatalogPreview>(
                "POST",
                &path("preview"),
                &token.get_untracked(),
                Some(AdminBody::Json(&body)),
            )
            .await
            {
                Ok(p) => preview.set(Some(p)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let build = move |_| {
        let body = serde_json::to_value(mapping()).unwrap_or_default();
        error.set(None);
        spawn_local(async move {
            match api::admin::<Job>(
                "POST",
                &path("build"),
                &token.get_untracked(),
                Some(AdminBody::Json(&body)),
            )
            .await
            {
                Ok(j) => {
                    let id = j.id;
                    job.set(Some(j));
                    follow(id, token.get_untracked(), job, list);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let left = move |j: &Job| -> String {
        let now = js_sys::Date::now();
        let (stage, since) = stage_start.get_value();
        if stage != j.stage {
            stage_start.set_value((j.stage.clone(), now));
            return String::new();
        }
        if j.progress < 0.02 || j.progress >= 1.0 {
            return String::new();
        }
        let secs = (now - since) / 1000.0 * (1.0 - j.progress) / j.progress;
        format!(" · about {:.0} s left in this stage", secs.ceil())
    };

    view! {
        <section class="panel byo" aria-label="Bring your own catalog">
            <h2>"Bring your own catalog"</h2>
            <p class="because">"Upload a products CSV: any header, the columns are matched to the product fields and you can fix the match. The build imports, embeds, indexes, builds CF and the map, and draws pictures for products without one."</p>
            <div class="toolbar">
                <label for="byo-name">"Catalog name"<input id="byo-name" placeholder="e.g. my-shop" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <label for="byo-file">"CSV file"<input id="byo-file" type="file" accept=".csv,text/csv" node_ref=file /></label>
                <label for="byo-token">"Admin token"<input id="byo-token" type="password" autocomplete="off" prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev)) /></label>
                <label for="byo-model">"Embedding model"<input id="byo-model" placeholder="the default" prop:value=move || model.get() on:input=move |ev| model.set(event_target_value(&ev)) /></label>
                <button class="primary" on:click=upload>"Upload and preview"</button>
            </div>
            {move || error.get().map(|e| view! { <div class="error" role="alert">{e}</div> })}
            {move || preview.get().map(|p| {
                let columns = p.columns.clone();
                view! {
                    <h3>"Column mapping"</h3>
                    {p.problem.clone().map(|m| view! { <div class="note" role="status" data-testid="mapping-problem">{m}</div> })}
                    <div class="scroll-x"><table class="stats mapping">
                        <tr><th>"field"</th><th>"CSV column"</th></tr>
                        {p.fields.iter().map(|f| {
                            let field = f.field.clone();
                            let chosen = f.column.clone().unwrap_or_default();
                            let options = columns.clone();
                            view! {
                                <tr>
                                    <td>{f.field.clone()}{f.required.then_some(" *")}</td>
                                    <td><select aria-label=format!("Column for {}", f.field)
                                        on:change=move |ev| remap(field.clone(), event_target_value(&ev))>
                                        <option value="" selected=chosen.is_empty()>"(none: the default)"</option>
                                        {options.into_iter().map(|c| view! { <option value=c.clone() selected=c == chosen>{c.clone()}</option> }).collect_view()}
                                    </select></td>
                                </tr>
                            }
                        }).collect_view()}
                    </table></div>
                    <p class="status" data-testid="preview-counts">{format!("{} rows read, {} would be rejected", p.records, p.rejected)}</p>
                    <div class="scroll-x"><table class="stats preview" data-testid="preview-rows">
                        <tr><th>"asin"</th><th>"title"</th><th>"price"</th><th>"stars"</th><th>"category"</th></tr>
                        {p.rows.iter().map(|r| view! {
                            <tr><td>{r.asin.clone()}</td><td>{r.title.clone()}</td><td>{format!("{:.2}", r.price)}</td><td>{format!("{:.1}", r.stars)}</td><td>{r.category_id}</td></tr>
                        }).collect_view()}
                    </table></div>
                    {(!p.rejects.is_empty()).then(|| view! {
                        <details class="dropped"><summary>{format!("First rejected rows ({})", p.rejects.len())}</summary>
                            <ul>{p.rejects.iter().map(|r| view! { <li>{format!("line {}: {}", r.line, r.reason)}</li> }).collect_view()}</ul>
                        </details>
                    })}
                    <button class="primary" disabled=p.problem.is_some() || p.rows.is_empty()
                        on:click=build>"Build the catalog"</button>
                }
            })}
            {move || job.get().map(|j| {
                let label = format!("{} {:.0}%{}", j.stage, j.progress * 100.0, left(&j));
                let done = j.state == JobState::Done;
                let built = name.get_untracked();
                view! {
                    <div class="job" data-testid="build-progress" data-state=format!("{:?}", j.state).to_lowercase()>
                        <progress aria-label="Build progress" max="1" value=j.progress></progress>
                        <span role="status">{label}</span>
                        {j.message.clone().map(|m| view! { <p class="because">{m}</p> })}
                        {done.then(|| view! {
                            <button class="primary" aria-label=format!("Open catalog {built}")
                                on:click=move |_| open_catalog(Some(built.as_str()), View::Recall, &ctx().user.get_untracked())>{format!("Open {built}")}</button>
                        })}
                    </div>
                }
            })}
        </section>
    }
}

/// Reads the job every 400 ms until it ends, then reloads the catalog list.
fn follow(
    id: u64,
    token: String,
    job: RwSignal<Option<Job>>,
    list: LocalResource<Result<Vec<CatalogInfo>, ApiError>>,
) {
    spawn_local(async move {
        match api::admin::<Job>("GET", &format!("/api/admin/jobs/{id}"), &token, None).await {
            Ok(j) => {
                let running = j.state == JobState::Running;
                job.set(Some(j));
                if running {
                    set_timeout(
                        move || follow(id, token, job, list),
                        Duration::from_millis(400),
                    );
                } else {
                    list.refetch();
                }
            }
            Err(e) => job.update(|j| {
                if let Some(j) = j {
                    j.message = Some(e.to_string());
                }
            }),
        }
    });
}
