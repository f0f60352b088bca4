//! The long-lived helper threads that let a request running alone use every core: a FAISS
//! batch split into slices ([`crate::index::SearchIndex::search`]) and the answer's items
//! written in halves ([`crate::recall::Engine::recall_into`]).
//!
//! A thread started per use would be simpler, but on this VM kind a freshly spawned thread often
//! began running only after the parent had done its own share, so split work took nearly as
//! long as unsplit work whenever the cores had been idle, which is every time a lone HTTP
//! request runs; a parked helper wakes far sooner than a new thread starts.

/// One helper per core beyond the first, started on first use and kept for the life of the
/// process. Each starts with a FAISS team of one: a slice is one OpenMP thread's work.
pub(crate) fn helpers() -> &'static rayon_core::ThreadPool {
    static HELPERS: std::sync::OnceLock<rayon_core::ThreadPool> = std::sync::OnceLock::new();
    HELPERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(cores.saturating_sub(1).max(1))
            .thread_name(|i| format!("recall-helper-{i}"))
            .start_handler(|_| crate::index::set_search_threads(1))
            .build()
            .expect("starting the helper threads")
    })
}

/// Runs `here` on the calling thread and `there` on a helper at the same time, and returns
/// both results once both are done. A panic in either is resumed here.
pub(crate) fn join<A, B>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B)
where
    B: Send,
{
    let mut b = None;
    let a = helpers().in_place_scope(|s| {
        s.spawn(|_| b = Some(there()));
        here()
    });
    (a, b.expect("the scope waits for its spawned work"))
}
