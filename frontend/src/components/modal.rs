//! A dialog over the page: named for screen readers, focus moved into it on open and kept
//! there (Tab cycles inside), closed by Escape, its Close button or a click beside it.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The focusable elements of `root`, in document order.
fn focusables(root: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = root.query_selector_all(
        "button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])",
    ) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// A modal dialog; `label` names it (e.g. "Similar to Samsonite Winfield 3"), `on_close` runs
/// on Escape, Close or a click on the backdrop.
#[component]
pub fn Modal(
    #[prop(into)] label: Signal<String>,
    on_close: Callback<()>,
    #[prop(optional)] test_id: &'static str,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Div>::new();
    // Focus into the dialog once it is in the page.
    Effect::new(move |_| {
        if let Some(d) = dialog.get() {
            let _ = d.focus();
        }
    });
    let keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        } else if ev.key() == "Tab" {
            let Some(d) = dialog.get() else { return };
            let items = focusables(&d);
            let (Some(first), Some(last)) = (items.first(), items.last()) else {
                return;
            };
            let active = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|doc| doc.active_element());
            let at = |el: &wasm_bindgen::JsValue| {
                active
                    .as_ref()
                    .is_some_and(|a| js_sys::Object::is(a.as_ref(), el))
            };
            let on_dialog = at(d.as_ref());
            if ev.shift_key() && (at(first.as_ref()) || on_dialog) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && at(last.as_ref()) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
    };
    view! {
        <div class="modal-back" on:click=move |_| on_close.run(())>
            <div class="modal" role="dialog" aria-modal="true" aria-label=move || label.get() tabindex="-1"
                data-testid=test_id node_ref=dialog on:keydown=keydown on:click=|ev| ev.stop_propagation()>
                <h2><span>{move || label.get()}</span><button on:click=move |_| on_close.run(())>"Close"</button></h2>
                {children()}
            </div>
        </div>
    }
}
