//! The header's user switcher: pick a user, make a new one, rename the current one.

use crate::api;
use crate::state::ctx;
use common::{NewUser, User};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Picks, creates and renames the current user.
#[component]
pub fn UserBar() -> impl IntoView {
    let c = ctx();
    let rename = RwSignal::new(String::new());
    let new_user = move |_| {
        let n = c.users.with_untracked(|u| match u {
            Some(Ok(users)) => users.len(),
            _ => 0,
        }) + 1;
        let id = format!("user-{}-{}", n, (js_sys::Math::random() * 1000.0) as u32);
        c.user.set(id);
        c.ensure_user();
    };
    let do_rename = move |_| {
        let body = NewUser {
            id: Some(c.user.get_untracked()),
            name: Some(rename.get_untracked()),
        };
        spawn_local(async move {
            match api::post::<_, User>("/api/users", &body).await {
                Ok(_) => c.users.refetch(),
                Err(e) => c.fail(e),
            }
        });
    };
    // The current user leads the list until the server lists it.
    let options = move || {
        let mut users = c.users.get().and_then(Result::ok).unwrap_or_default();
        let current = c.user.get();
        if !users.iter().any(|u| u.id == current) {
            users.insert(
                0,
                User {
                    id: current.clone(),
                    name: current.clone(),
                    clicks: 0,
                },
            );
        }
        users
            .into_iter()
            .map(|u| {
                let label = if u.name != u.id {
                    format!("{} ({})", u.name, u.id)
                } else {
                    u.id.clone()
                };
                // `selected` on the option itself: the select's value alone is lost when the
                // options are redrawn after it was set (a new user then showed the old one).
                let selected = u.id == current;
                view! { <option value=u.id selected=selected>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="user">
            <label for="user-select">"User"</label>
            <select id="user-select" data-testid="user-select" prop:value=move || c.user.get()
                on:change=move |ev| { c.user.set(event_target_value(&ev)); c.ensure_user(); }>
                {options}
            </select>
            <button data-testid="user-new" on:click=new_user>"New user"</button>
            <input aria-label="New name for the current user" placeholder="rename to…" style="width:120px"
                prop:value=move || rename.get() on:input=move |ev| rename.set(event_target_value(&ev)) />
            <button on:click=do_rename>"Rename"</button>
        </div>
    }
}
