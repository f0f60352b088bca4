//! The FAISS index: choosing nlist for the catalog size, training on a bounded sample, measuring
//! a default nprobe, writing `faiss.index` atomically, and searching it from many threads at once.
//!
//! FAISS's C++ `Index::search` is const and thread-safe; the `faiss` crate's `search` takes
//! `&mut self` for generic indexes, which would serialise every request behind one lock. So
//! [`SearchIndex`] calls the C API directly through `&self`, with per-call `SearchParametersIVF`
//! for nprobe (no shared mutable state between requests).

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::manifest::{IndexInfo, Manifest};
use faiss::{Index, MetricType};
use rand::SeedableRng;
use rand::seq::index::sample;
use std::ffi::CStr;
use std::path::Path;

/// FAISS wants at least 39 training points per list.
pub const MIN_POINTS_PER_LIST: usize = 39;
/// Training uses at most this many vectors per list.
pub const MAX_POINTS_PER_LIST: usize = 256;
/// The recall@10 the default nprobe must reach on the build-time sample.
pub const TARGET_RECALL_AT_10: f64 = 0.96;

/// nlist for `n` vectors: about 4·√n (FAISS's guidance is 4·√n to 16·√n), but never fewer than
/// 39 training points per list.
pub fn auto_nlist(n: usize) -> usize {
    let by_sqrt = (4.0 * (n as f64).sqrt()).round() as usize;
    by_sqrt.min(n / MIN_POINTS_PER_LIST).max(1)
}

/// How to build the index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Any FAISS index-factory string; default `IVF{nlist},Flat`.
    pub factory: Option<String>,
    /// nlist for the default factory; default [`auto_nlist`].
    pub nlist: Option<usize>,
    /// Fix the default nprobe instead of measuring it.
    pub nprobe: Option<usize>,
    /// Queries used to measure recall when choosing the default nprobe.
    pub calibration_queries: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            factory: None,
            nlist: None,
            nprobe: None,
            calibration_queries: 300,
        }
    }
}

fn last_error(code: i32) -> Error {
    // SAFETY: called right after a FAISS C call returned `code != 0`; the message is owned by
    // FAISS's thread-local error slot and copied out before any other FAISS call.
    let msg = unsafe {
        let p = faiss_sys::faiss_get_last_error();
        if p.is_null() {
            format!("error code {code}")
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    Error::Model(format!("faiss: {msg}"))
}

/// FAISS's `IO_FLAG_MMAP | IO_FLAG_READ_ONLY` (index_io.h; the `faiss` crate's `IoFlags` spells
/// them differently): an IVF index's inverted lists stay in the file and are mapped, not copied,
/// so a server starts in well under a second at 1M vectors and shares the pages with the OS
/// cache. Non-IVF indexes ignore it and are read into memory.
const IO_FLAG_MMAP_READ_ONLY: std::os::raw::c_int = (8 | 0x646f_0000) | 2;

unsafe extern "C" {
    /// libgomp: the OpenMP team size for parallel regions started from the calling thread.
    fn omp_get_max_threads() -> std::os::raw::c_int;
    /// libgomp (linked by faiss-sys): sets the OpenMP team size for parallel regions started
    /// from the calling thread.
    fn omp_set_num_threads(n: std::os::raw::c_int);
}

/// How many OpenMP threads FAISS may use for searches started from the calling thread. One
/// request alone may use every core; under concurrent load one thread per request avoids
/// oversubscription and OpenMP spin-waiting.
pub fn set_search_threads(n: usize) {
    // SAFETY: sets a per-thread OpenMP control variable; no memory is touched.
    unsafe { omp_set_num_threads(n.max(1) as std::os::raw::c_int) }
}

/// The search team size set for the calling thread (see [`set_search_threads`]).
pub fn search_threads() -> usize {
    // SAFETY: reads a per-thread OpenMP control variable.
    unsafe { omp_get_max_threads() }.max(1) as usize
}

/// A batch is split over threads only when every thread gets at least this many queries: below
/// that, a slice's fixed costs (a quantizer call, heaps for k results, a hand-off to a helper)
/// eat most of the gain (measured on the sample: a 5-click recall alone gained 5% from a 2-way
/// split, a 10-click one 25%), while the second core is better left to other requests.
pub const MIN_QUERIES_PER_SLICE: usize = 4;

unsafe extern "C" {
    /// `faiss_ivf.cpp`: sets or clears `PARALLEL_MODE_NO_HEAP_INIT` on an `IndexIVF`.
    fn recall_lab_ivf_set_caller_heaps(ivf: *mut faiss_sys::FaissIndexIVF, on: std::os::raw::c_int);
    /// `faiss_ivf.cpp`: `IndexIVF::search_preassigned` with the call's `nprobe` as a search
    /// parameter (`assign` and `centroid_dis` hold `n * nprobe` entries); 0, or -1 with
    /// `error` filled.
    fn recall_lab_ivf_search_preassigned(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        k: i64,
        assign: *const i64,
        centroid_dis: *const f32,
        nprobe: usize,
        distances: *mut f32,
        labels: *mut i64,
        error: *mut std::os::raw::c_char,
        error_len: usize,
    ) -> std::os::raw::c_int;
    /// `faiss_ivf.cpp`: the list scan of `recall_lab_ivf_search_preassigned` into heaps this code
    /// keeps, an IVFFlat inner-product index's lists scored eight vectors at a time (FAISS's
    /// scores and heap, bit for bit), any other index by FAISS; 0, or -1 with `error` filled.
    fn recall_lab_ivf_scan(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        k: i64,
        assign: *const i64,
        centroid_dis: *const f32,
        nprobe: usize,
        distances: *mut f32,
        labels: *mut i64,
        error: *mut std::os::raw::c_char,
        error_len: usize,
    ) -> std::os::raw::c_int;
    /// `faiss_ivf.cpp`: the coarse step, the `nprobe` best lists of each query (`dis` and
    /// `lists` hold `n * nprobe`), as FAISS's flat quantizer gives them; 0, or -1 with `error`
    /// filled.
    fn recall_lab_ivf_coarse(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        nprobe: usize,
        dis: *mut f32,
        lists: *mut i64,
        error: *mut std::os::raw::c_char,
        error_len: usize,
    ) -> std::os::raw::c_int;
    /// `faiss_ivf.cpp`: `IndexIVF::train` with k-means assigning the training points on one
    /// OpenMP team (its `Top1InnerProduct`); 0, or -1 with `error` filled.
    fn recall_lab_ivf_train(
        ivf: *mut faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        error: *mut std::os::raw::c_char,
        error_len: usize,
    ) -> std::os::raw::c_int;
    /// `faiss_ivf.cpp`: top-1 searches its `Top1InnerProduct` has answered so far.
    #[cfg(test)]
    fn recall_lab_top1_searches() -> u64;
    /// `faiss_ivf.cpp`: calls of `recall_lab_ivf_scan` its own kernel has answered so far.
    #[cfg(test)]
    fn recall_lab_kernel_scans() -> u64;
}

/// Trains `index` on `vectors` (whole rows of its dimension). An IVF index trains through
/// `recall_lab_ivf_train`: the same `IndexIVF::train` (FAISS's k-means, its parameters and
/// seed), with each iteration's assignment of the points to their nearest centroid computed
/// by one OpenMP team, every thread a single-threaded BLAS product over its own block of points
/// and a vectorised top-1 pass, instead of FAISS 1.12's multi-threaded BLAS call alternating
/// with its generic top-1 handler (two thread pools that spin and yield at every hand-over:
/// 12% of a 100,000-vector build's CPU in `__schedule` and `sched_yield`, 6% in the handler).
fn train(index: &mut faiss::index::IndexImpl, vectors: &[f32]) -> Result<()> {
    // SAFETY: cast of a valid index pointer; null when not IVF.
    let ivf = unsafe { faiss_sys::faiss_IndexIVF_cast(index.inner_ptr()) };
    if ivf.is_null() {
        return Ok(index.train(vectors)?);
    }
    let n = vectors.len() / index.d() as usize;
    let mut error = [0 as std::os::raw::c_char; 512];
    // SAFETY: `ivf` is this index, not shared; `vectors` holds n rows; `error` is its length.
    let code = unsafe {
        recall_lab_ivf_train(
            ivf,
            n as i64,
            vectors.as_ptr(),
            error.as_mut_ptr(),
            error.len(),
        )
    };
    if code != 0 {
        return Err(cpp_error(&error));
    }
    Ok(())
}

/// The error a `faiss_ivf.cpp` function reported in its message buffer.
fn cpp_error(error: &[std::os::raw::c_char]) -> Error {
    // Up to the NUL the C side's snprintf wrote, and never past the buffer.
    let bytes: Vec<u8> = error
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Error::Model(format!("faiss: {}", String::from_utf8_lossy(&bytes)))
}

/// Who initialises and orders the result heaps of an IVF search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heaps {
    /// FAISS, as its own `search` does: it heapifies each query's k slots, fills them, then
    /// heap-sorts them best first. The plain FAISS search, which the benchmarks compare with.
    Faiss,
    /// This code (FAISS's `PARALLEL_MODE_NO_HEAP_INIT`): the slots start empty here, the list
    /// scan fills them as FAISS's heap (`faiss_ivf.cpp`'s kernel for an IVFFlat inner-product
    /// index, FAISS otherwise), and they are sorted here only when the caller asks for
    /// [`Order::BestFirst`]. A recall's content channel regroups its hits by row anyway, and
    /// FAISS's heap sort of k=510 slots was 19% of a 10-click search's CPU at 4,960 items.
    /// This is the engine's search; its coarse step and list scan are `faiss_ivf.cpp`'s, with
    /// FAISS's scores and results bit for bit.
    Caller,
}

/// The order each query's neighbours come back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Best first (highest inner product, or lowest L2 distance), ties and empty slots (label
    /// -1, last) as FAISS orders them.
    BestFirst,
    /// Any order, empty slots anywhere: the cheapest, for callers that regroup the hits.
    Any,
}

/// A loaded index that any number of threads may search at once.
pub struct SearchIndex {
    inner: faiss::index::IndexImpl,
    /// Non-null when the index is an IVF index (nprobe applies).
    ivf: *mut faiss_sys::FaissIndexIVF,
    heaps: Heaps,
    /// Higher scores are better (inner product); otherwise lower ones are (L2).
    higher_is_better: bool,
    pub dim: usize,
    pub ntotal: usize,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
}

// SAFETY: after loading, the index is only used through const FAISS calls (search, reconstruct),
// which FAISS documents as safe to run concurrently; `ivf` points into `inner`.
unsafe impl Send for SearchIndex {}
unsafe impl Sync for SearchIndex {}

/// Neighbours of a batch of queries: row-major `nq × k`, label -1 where the index had fewer.
pub struct Neighbours {
    pub k: usize,
    pub scores: Vec<f32>,
    pub labels: Vec<i64>,
}

impl Neighbours {
    /// (label, score) pairs of query `q`, skipping empty slots.
    pub fn row(&self, q: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = q * self.k..(q + 1) * self.k;
        self.labels[r.clone()]
            .iter()
            .zip(&self.scores[r])
            .filter(|(l, _)| **l >= 0)
            .map(|(l, s)| (*l as usize, *s))
    }
}

impl SearchIndex {
    fn wrap(inner: faiss::index::IndexImpl, default_nprobe: Option<usize>, heaps: Heaps) -> Self {
        // SAFETY: `inner_ptr` is a valid index; the cast returns null for non-IVF indexes.
        let ivf = unsafe { faiss_sys::faiss_IndexIVF_cast(inner.inner_ptr()) };
        let nlist = (!ivf.is_null()).then(|| unsafe { faiss_sys::faiss_IndexIVF_nlist(ivf) });
        let default_nprobe = nlist.map(|nl| default_nprobe.unwrap_or(1).clamp(1, nl));
        if nlist.is_some() {
            // SAFETY: single-threaded here (before sharing). `search_preassigned` leaves the
            // heaps to this code or not (see `search_ivf`).
            unsafe { recall_lab_ivf_set_caller_heaps(ivf, (heaps == Heaps::Caller).into()) };
        }
        SearchIndex {
            dim: inner.d() as usize,
            ntotal: inner.ntotal() as usize,
            higher_is_better: inner.metric_type() == MetricType::InnerProduct,
            inner,
            ivf,
            heaps,
            nlist,
            default_nprobe,
        }
    }

    /// Reads `faiss.index` (what `recall-lab index` or Python's `faiss.write_index` wrote), for
    /// the engine: [`Heaps::Caller`].
    pub fn load(path: &Path, default_nprobe: Option<usize>) -> Result<Self> {
        Self::load_with(path, default_nprobe, Heaps::Caller)
    }

    /// [`SearchIndex::load`] with the heaps left to `heaps`.
    pub fn load_with(path: &Path, default_nprobe: Option<usize>, heaps: Heaps) -> Result<Self> {
        let p = path.to_str().ok_or_else(|| Error::Format {
            path: path.to_owned(),
            message: "path is not UTF-8".into(),
        })?;
        let c = std::ffi::CString::new(p).map_err(|_| Error::Format {
            path: path.to_owned(),
            message: "path holds a NUL byte".into(),
        })?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: `c` is a valid C string and `raw` receives a new index owned by IndexImpl.
        let code = unsafe {
            faiss_sys::faiss_read_index_fname(c.as_ptr(), IO_FLAG_MMAP_READ_ONLY, &mut raw)
        };
        if code != 0 {
            return Err(last_error(code));
        }
        // SAFETY: `raw` is the non-null index FAISS just read; IndexImpl frees it on drop.
        let inner =
            unsafe { <faiss::index::IndexImpl as faiss::index::FromInnerPtr>::from_inner_ptr(raw) };
        Ok(Self::wrap(inner, default_nprobe, heaps))
    }

    /// Starts a background thread that maps every page of this index's file mapping into the
    /// process (`MADV_POPULATE_READ`), so the first requests after a start or a reindex do not
    /// pay one page fault per touched page of the inverted lists. Serving starts without
    /// waiting for it; the handle lets a caller that must not measure page faults (the bare
    /// benchmark) wait. `None` for indexes read into memory, or off Linux.
    pub fn prefault_in_background(&self, path: &Path) -> Option<std::thread::JoinHandle<()>> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
            let want = path.canonicalize().unwrap_or_else(|_| path.to_owned());
            // Lines: "start-end perms offset dev inode path".
            let ranges: Vec<(usize, usize)> = maps
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let range = f.next()?;
                    let inode: u64 = f.nth(3)?.parse().ok()?;
                    let file = f.next()?;
                    (inode == meta.ino() && Path::new(file) == want && f.next().is_none())
                        .then_some(range)?
                        .split_once('-')
                        .and_then(|(a, b)| {
                            Some((
                                usize::from_str_radix(a, 16).ok()?,
                                usize::from_str_radix(b, 16).ok()?,
                            ))
                        })
                })
                .collect();
            if ranges.is_empty() {
                return None;
            }
            std::thread::Builder::new()
                .name("prefault-index".into())
                .spawn(move || {
                    let t = std::time::Instant::now();
                    let mut bytes = 0usize;
                    for (start, end) in ranges {
                        // In chunks, so that other threads can map memory meanwhile; a mapping
                        // gone by now (a reindex dropped it) fails harmlessly.
                        if let Err(error) =
                            crate::util::populate_read(start as *const u8, end - start)
                        {
                            tracing::debug!(%error, "prefaulting the index stopped");
                            return;
                        }
                        bytes += end - start;
                    }
                    tracing::info!(
                        mb = bytes >> 20,
                        ms = t.elapsed().as_secs_f64() * 1e3,
                        "index pages mapped in"
                    );
                })
                .ok()
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = path;
            None
        }
    }

    /// Checks a requested nprobe against this index.
    pub fn check_nprobe(&self, nprobe: Option<usize>) -> Result<Option<usize>> {
        match (nprobe, self.nlist) {
            (None, _) => Ok(self.default_nprobe),
            (Some(0), _) => Err(Error::param("nprobe", "nprobe must be at least 1")),
            (Some(n), Some(nlist)) if n > nlist => Err(Error::param(
                "nprobe",
                format!("nprobe {n} is above nlist {nlist}"),
            )),
            (Some(n), Some(_)) => Ok(Some(n)),
            (Some(_), None) => Err(Error::param(
                "nprobe",
                "this index has no inverted lists, so nprobe does not apply",
            )),
        }
    }

    /// The smallest nprobe at which `k` results are expected for every query: lists hold
    /// `ntotal / nlist` vectors on average, so probe enough lists for twice `k`.
    pub fn nprobe_for_k(&self, k: usize) -> Option<usize> {
        let nlist = self.nlist?;
        let per_list = (self.ntotal as f64 / nlist as f64).max(1.0);
        let needed = ((2 * k) as f64 / per_list).ceil() as usize;
        Some(needed.max(self.default_nprobe.unwrap_or(1)).clamp(1, nlist))
    }

    /// Searches `queries` (row-major, `dim` per row) for `k` neighbours each.
    ///
    /// IVF indexes are searched in two steps, as FAISS's own `IndexIVF::search` does: the coarse
    /// quantizer picks `nprobe` lists per query, then `search_preassigned` scans them (for
    /// [`Heaps::Caller`], both steps are `faiss_ivf.cpp`'s kernel: see [`SearchIndex::coarse`]
    /// and `search_ivf`). Doing the two steps here lets nprobe vary per call without touching
    /// shared state, and skips the per-search prefetch threads FAISS starts for memory-mapped
    /// inverted lists. The batch is
    /// split over the calling thread's OpenMP team size, like FAISS does, when every thread gets
    /// at least [`MIN_QUERIES_PER_SLICE`] queries: the calling thread and the long-lived helper
    /// threads ([`crate::cores`]) take them one at a time. Each query's neighbours come back
    /// best first.
    pub fn search(&self, queries: &[f32], k: usize, nprobe: Option<usize>) -> Result<Neighbours> {
        self.search_in(queries, k, nprobe, Order::BestFirst)
    }

    /// [`SearchIndex::search`], each query's neighbours in any order (see [`Heaps::Caller`]).
    pub fn search_any_order(
        &self,
        queries: &[f32],
        k: usize,
        nprobe: Option<usize>,
    ) -> Result<Neighbours> {
        self.search_in(queries, k, nprobe, Order::Any)
    }

    fn search_in(
        &self,
        queries: &[f32],
        k: usize,
        nprobe: Option<usize>,
        order: Order,
    ) -> Result<Neighbours> {
        assert_eq!(queries.len() % self.dim, 0, "queries must be whole vectors");
        let nq = queries.len() / self.dim;
        let k = k.max(1);
        // Empty heap slots, as FAISS's `heap_heapify` makes them (FAISS fills every slot itself
        // when it owns the heaps, and outside IVF).
        let empty = if self.higher_is_better {
            f32::MIN
        } else {
            f32::MAX
        };
        let mut scores = vec![empty; nq * k];
        let mut labels = vec![-1i64; nq * k];
        if nq == 0 {
            return Ok(Neighbours { k, scores, labels });
        }
        match self.check_nprobe(nprobe)? {
            Some(np) if !self.ivf.is_null() => {
                let team = search_threads();
                let threads = team.min(nq / MIN_QUERIES_PER_SLICE).max(1);
                // No more slices than the helpers and this thread can run at once.
                let threads = match threads {
                    1 => 1,
                    n => n.min(crate::cores::helpers().current_num_threads() + 1),
                };
                if threads <= 1 {
                    self.search_ivf(queries, k, np, order, &mut scores, &mut labels)?;
                } else {
                    // Queries are handed out one at a time: their lists differ in length, so
                    // fixed slices left one thread waiting for the other.
                    let next = std::sync::atomic::AtomicUsize::new(0);
                    let slots: Vec<std::sync::Mutex<(&mut [f32], &mut [i64])>> = scores
                        .chunks_mut(k)
                        .zip(labels.chunks_mut(k))
                        .map(std::sync::Mutex::new)
                        .collect();
                    let work = || -> Result<()> {
                        loop {
                            let q = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(slot) = slots.get(q) else {
                                return Ok(());
                            };
                            let mut slot = slot.lock().expect("one claim per query");
                            let (sc, lb) = &mut *slot;
                            let query = &queries[q * self.dim..(q + 1) * self.dim];
                            self.search_ivf(query, k, np, order, sc, lb)?;
                        }
                    };
                    let (tx, rx) = std::sync::mpsc::channel();
                    let first = crate::cores::helpers().in_place_scope(|s| {
                        for _ in 1..threads {
                            let (tx, work) = (tx.clone(), &work);
                            s.spawn(move |_| {
                                let _ = tx.send(work());
                            });
                        }
                        set_search_threads(1);
                        let first = work();
                        set_search_threads(team);
                        first
                    });
                    drop(tx);
                    first?;
                    rx.into_iter().collect::<Result<()>>()?;
                }
            }
            _ => {
                // SAFETY: buffers are sized nq·k; the index is only read.
                let code = unsafe {
                    faiss_sys::faiss_Index_search(
                        self.inner.inner_ptr(),
                        nq as i64,
                        queries.as_ptr(),
                        k as i64,
                        scores.as_mut_ptr(),
                        labels.as_mut_ptr(),
                    )
                };
                if code != 0 {
                    return Err(last_error(code));
                }
            }
        }
        Ok(Neighbours { k, scores, labels })
    }

    /// The coarse step of an IVF search: each query's `nprobe` best lists, best first, with
    /// their centroid scores. The plain search (`Heaps::Faiss`, the benchmarks' reference) asks
    /// FAISS's quantizer; the engine's search (`Heaps::Caller`) computes the same choice, with
    /// the same scores bit for bit, in `faiss_ivf.cpp`, where eight dot products run at once
    /// (eight centroids for one query, or four for two queries of a batch, each centroid read
    /// once for both): for a batch of 10 clicks FAISS's flat index takes its one-row-at-a-time
    /// path (below its BLAS threshold of 20 queries), which took 25-30% of a bare search's CPU
    /// at 100,000 items (perf profile). Scoring the queries of a batch in pairs raised bare
    /// c=32 throughput (one thread per batch) by 5-8% at 100,000 and 15% at 1M.
    fn coarse(&self, queries: &[f32], nprobe: usize) -> Result<(Vec<f32>, Vec<i64>)> {
        let nq = queries.len() / self.dim;
        let mut near = vec![0f32; nq * nprobe];
        let mut lists = vec![-1i64; nq * nprobe];
        if self.heaps == Heaps::Caller {
            let mut error = [0 as std::os::raw::c_char; 256];
            // SAFETY: the index is only read; `queries` holds nq rows, `near` and `lists`
            // nq·nprobe entries; `error` is its length.
            let code = unsafe {
                recall_lab_ivf_coarse(
                    self.ivf,
                    nq as i64,
                    queries.as_ptr(),
                    nprobe,
                    near.as_mut_ptr(),
                    lists.as_mut_ptr(),
                    error.as_mut_ptr(),
                    error.len(),
                )
            };
            if code != 0 {
                return Err(cpp_error(&error));
            }
        } else {
            // SAFETY: the quantizer belongs to the index and is only read; buffers are
            // nq·nprobe.
            let code = unsafe {
                faiss_sys::faiss_Index_search(
                    faiss_sys::faiss_IndexIVF_quantizer(self.ivf),
                    nq as i64,
                    queries.as_ptr(),
                    nprobe as i64,
                    near.as_mut_ptr(),
                    lists.as_mut_ptr(),
                )
            };
            if code != 0 {
                return Err(last_error(code));
            }
        }
        Ok((near, lists))
    }

    /// Queries of an IVF search on the calling thread: coarse quantizer, then the lists, into
    /// `scores` and `labels` (empty slots on entry).
    fn search_ivf(
        &self,
        queries: &[f32],
        k: usize,
        nprobe: usize,
        order: Order,
        scores: &mut [f32],
        labels: &mut [i64],
    ) -> Result<()> {
        let nq = queries.len() / self.dim;
        let (near, lists) = self.coarse(queries, nprobe)?;
        // The call's nprobe goes to FAISS as a search parameter, so `lists` holds only the
        // lists probed, whatever the index's own nprobe (the default stored for Python users).
        // The engine's search (`Heaps::Caller`) scans an IVFFlat inner-product index's lists
        // with `faiss_ivf.cpp`'s kernel (eight vectors' dot products in flight, each summed as
        // FAISS sums it, pushed into FAISS's heap in list order: FAISS's results bit for bit;
        // its one-vector-at-a-time scan was two thirds of a search's CPU at 100,000 items, and
        // the kernel made a bare 10-click search there 15-20% faster). The plain search is
        // FAISS's `search_preassigned`.
        let scan = match self.heaps {
            Heaps::Caller => recall_lab_ivf_scan,
            Heaps::Faiss => recall_lab_ivf_search_preassigned,
        };
        let mut error = [0 as std::os::raw::c_char; 256];
        // SAFETY: const search over the index; `lists` and `near` hold nq·nprobe entries,
        // `scores` and `labels` nq·k; `error` is its length.
        let code = unsafe {
            scan(
                self.ivf,
                nq as i64,
                queries.as_ptr(),
                k as i64,
                lists.as_ptr(),
                near.as_ptr(),
                nprobe,
                scores.as_mut_ptr(),
                labels.as_mut_ptr(),
                error.as_mut_ptr(),
                error.len(),
            )
        };
        if code != 0 {
            return Err(cpp_error(&error));
        }
        if self.heaps == Heaps::Caller && order == Order::BestFirst {
            for (sc, lb) in scores.chunks_mut(k).zip(labels.chunks_mut(k)) {
                self.sort_best_first(sc, lb);
            }
        }
        Ok(())
    }

    /// Orders one query's slots as FAISS's `heap_reorder` does: best first, equal scores by
    /// higher label for inner product and lower for L2 (its heaps compare (score, label)), the
    /// empty slots (worst score, label -1) last.
    fn sort_best_first(&self, scores: &mut [f32], labels: &mut [i64]) {
        let mut slots: Vec<(f32, i64)> =
            scores.iter().copied().zip(labels.iter().copied()).collect();
        let empty_last = |a: &(f32, i64), b: &(f32, i64)| (a.1 < 0).cmp(&(b.1 < 0));
        if self.higher_is_better {
            slots.sort_unstable_by(|a, b| {
                empty_last(a, b)
                    .then(b.0.total_cmp(&a.0))
                    .then(b.1.cmp(&a.1))
            });
        } else {
            slots.sort_unstable_by(|a, b| {
                empty_last(a, b)
                    .then(a.0.total_cmp(&b.0))
                    .then(a.1.cmp(&b.1))
            });
        }
        for (i, (s, l)) in slots.into_iter().enumerate() {
            scores[i] = s;
            labels[i] = l;
        }
    }
}

/// Exact inner-product search over the same vectors (FAISS `IndexFlatIP`), the reference for
/// ANN recall.
pub fn exact_index(vectors: &[f32], dim: usize) -> Result<SearchIndex> {
    let mut flat = faiss::index_factory(dim as u32, "Flat", MetricType::InnerProduct)?;
    flat.add(vectors)?;
    Ok(SearchIndex::wrap(flat, None, Heaps::Faiss))
}

/// Mean fraction of the exact top-`k` found by the ANN search, over the given queries.
pub fn recall_at(ann: &Neighbours, exact: &Neighbours, nq: usize, k: usize) -> f64 {
    if nq == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for q in 0..nq {
        let truth: std::collections::HashSet<usize> =
            exact.row(q).take(k).map(|(l, _)| l).collect();
        let found = ann
            .row(q)
            .take(k)
            .filter(|(l, _)| truth.contains(l))
            .count();
        total += found as f64 / truth.len().max(1) as f64;
    }
    total / nq as f64
}

/// What an index build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexReport {
    pub factory: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub count: usize,
    pub trained_on: usize,
    pub recall_at_10: Option<f64>,
    pub train_seconds: f64,
    pub add_seconds: f64,
    /// Writing `products.rows` (the build's product rows, for enrichment).
    pub rows_seconds: f64,
    pub seconds: f64,
}

/// Builds the index from `product_emb.npy`, measures a default nprobe and writes `faiss.index`,
/// after writing the build's product rows (`products.rows`, see [`crate::rows`]).
pub fn build(layout: &Layout, opts: &IndexOptions) -> Result<IndexReport> {
    let started = std::time::Instant::now();
    let manifest = Manifest::load(layout)?.unwrap_or_default();
    let emb = manifest
        .embeddings
        .clone()
        .ok_or_else(|| Error::MissingArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            fix: layout.fix("embed"),
        })?;
    if !layout.embeddings().exists() {
        return Err(Error::MissingArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            fix: layout.fix("embed"),
        });
    }
    let matrix = crate::npy::Matrix::open(&layout.embeddings())?;
    let (n, dim) = (matrix.rows(), matrix.cols());
    if n != emb.count || dim != emb.dim {
        return Err(Error::StaleArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            why: format!(
                "{n}×{dim} on disk but the manifest says {}×{}",
                emb.count, emb.dim
            ),
            fix: layout.fix("embed"),
        });
    }
    let t = std::time::Instant::now();
    let conn = crate::catalog::open(&layout.db())?;
    // Read at the catalog's current revision: if that is not the embeddings' one, loading the
    // build fails on the embeddings first (`Manifest::check_fresh`).
    let revision = crate::catalog::catalog_revision(&conn)?;
    let rows = crate::rows::write(layout, &conn, revision)?;
    drop(conn);
    let rows_seconds = t.elapsed().as_secs_f64();
    tracing::info!(
        rows = rows.rows,
        bytes = rows.bytes,
        seconds = rows_seconds,
        "wrote products.rows"
    );
    let vectors = matrix.to_vec()?;
    drop(matrix);

    let nlist_auto = opts.nlist.unwrap_or_else(|| auto_nlist(n));
    let factory = opts
        .factory
        .clone()
        .unwrap_or_else(|| format!("IVF{nlist_auto},Flat"));
    let mut index = faiss::index_factory(dim as u32, &factory, MetricType::InnerProduct)
        .map_err(|e| Error::param("factory", format!("FAISS rejected {factory:?}: {e}")))?;

    let mut trained_on = 0;
    let t = std::time::Instant::now();
    if !index.is_trained() {
        // SAFETY: cast of a valid index pointer; null when not IVF.
        let nlist = unsafe {
            let ivf = faiss_sys::faiss_IndexIVF_cast(index.inner_ptr());
            (!ivf.is_null()).then(|| faiss_sys::faiss_IndexIVF_nlist(ivf))
        };
        let cap = nlist.map(|nl| nl * MAX_POINTS_PER_LIST).unwrap_or(n).min(n);
        if let Some(nl) = nlist
            && n < nl * MIN_POINTS_PER_LIST
        {
            tracing::warn!(
                n,
                nlist = nl,
                "fewer than 39 training points per list; FAISS will warn and recall may suffer"
            );
        }
        let train: Vec<f32> = if cap < n {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
            let mut picks = sample(&mut rng, n, cap).into_vec();
            picks.sort_unstable();
            picks
                .iter()
                .flat_map(|&i| &vectors[i * dim..(i + 1) * dim])
                .copied()
                .collect()
        } else {
            vectors.clone()
        };
        trained_on = train.len() / dim;
        self::train(&mut index, &train)?;
    }
    let train_seconds = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    index.add(&vectors)?;
    let add_seconds = t.elapsed().as_secs_f64();

    let search = SearchIndex::wrap(index, None, Heaps::Caller);
    let (default_nprobe, recall_at_10) = calibrate(&search, &vectors, dim, opts)?;
    let search = SearchIndex {
        default_nprobe,
        ..search
    };
    if let Some(np) = default_nprobe {
        // SAFETY: not shared yet; sets the nprobe stored in the file for Python users.
        unsafe { faiss_sys::faiss_IndexIVF_set_nprobe(search.ivf, np) };
    }

    let path = layout.index();
    let tmp = path.with_extension("index.tmp");
    let tmp_str = tmp.to_str().ok_or_else(|| Error::Format {
        path: tmp.clone(),
        message: "path is not UTF-8".into(),
    })?;
    faiss::write_index(&search.inner, tmp_str)?;
    std::fs::rename(&tmp, &path).map_err(Error::io(&path))?;

    let seconds = started.elapsed().as_secs_f64();
    let mut manifest = manifest;
    manifest.index = Some(IndexInfo {
        factory: factory.clone(),
        metric: "inner_product".into(),
        nlist: search.nlist,
        default_nprobe,
        dim,
        count: n,
        model: emb.model.clone(),
        catalog_revision: emb.catalog_revision,
        built_at: crate::util::now_rfc3339(),
        build_seconds: seconds,
        recall_at_10,
    });
    manifest.save(layout)?;
    Ok(IndexReport {
        factory,
        nlist: search.nlist,
        default_nprobe,
        count: n,
        trained_on,
        recall_at_10,
        train_seconds,
        add_seconds,
        rows_seconds,
        seconds,
    })
}

/// Picks the smallest power-of-two nprobe whose recall@10 against exact search reaches
/// [`TARGET_RECALL_AT_10`] on a sample of catalog vectors used as queries.
fn calibrate(
    index: &SearchIndex,
    vectors: &[f32],
    dim: usize,
    opts: &IndexOptions,
) -> Result<(Option<usize>, Option<f64>)> {
    let Some(nlist) = index.nlist else {
        return Ok((None, None));
    };
    let n = vectors.len() / dim;
    let nq = opts.calibration_queries.clamp(1, 500).min(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let queries: Vec<f32> = sample(&mut rng, n, nq)
        .into_iter()
        .flat_map(|i| &vectors[i * dim..(i + 1) * dim])
        .copied()
        .collect();
    let exact = exact_search(vectors, dim, &queries, 10)?;
    let measure = |np: usize| -> Result<f64> {
        Ok(recall_at(
            &index.search(&queries, 10, Some(np))?,
            &exact,
            nq,
            10,
        ))
    };
    if let Some(np) = opts.nprobe {
        let np = np.clamp(1, nlist);
        return Ok((Some(np), Some(measure(np)?)));
    }
    let mut np = 1;
    loop {
        let r = measure(np)?;
        if r >= TARGET_RECALL_AT_10 || np >= nlist {
            return Ok((Some(np), Some(r)));
        }
        np = (np * 2).min(nlist);
    }
}

/// Exact top-`k` of `queries` over `vectors`, with FAISS's flat inner-product index.
pub fn exact_search(vectors: &[f32], dim: usize, queries: &[f32], k: usize) -> Result<Neighbours> {
    exact_index(vectors, dim)?.search(queries, k, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nlist_follows_catalog_size() {
        assert_eq!(auto_nlist(4_960), 127); // 39 points per list bound
        assert_eq!(auto_nlist(1_000_000), 4_000);
        assert_eq!(auto_nlist(100_000), 1_265);
        assert_eq!(auto_nlist(10), 1);
    }

    fn random_unit(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>() - 0.5).collect();
        v.chunks_mut(dim).for_each(crate::embed::normalize);
        v
    }

    /// Training through `train` gives the centroids FAISS's own `train` gives (the same
    /// k-means, seed and assignments), and its own top-1 search did the assigning.
    #[test]
    fn training_here_gives_the_centroids_faiss_gives() {
        let (n, dim, nlist) = (3_000, 24, 40);
        let v = random_unit(n, dim, 5);
        let centroids = |idx: &faiss::index::IndexImpl| {
            let mut c = vec![0f32; nlist * dim];
            // SAFETY: an IVF index; its quantizer holds nlist vectors of `dim`.
            let code = unsafe {
                let ivf = faiss_sys::faiss_IndexIVF_cast(idx.inner_ptr());
                faiss_sys::faiss_Index_reconstruct_n(
                    faiss_sys::faiss_IndexIVF_quantizer(ivf),
                    0,
                    nlist as i64,
                    c.as_mut_ptr(),
                )
            };
            assert_eq!(code, 0);
            c
        };
        let factory = format!("IVF{nlist},Flat");
        let mut by_faiss =
            faiss::index_factory(dim as u32, &factory, MetricType::InnerProduct).unwrap();
        by_faiss.train(&v).unwrap();
        let mut here =
            faiss::index_factory(dim as u32, &factory, MetricType::InnerProduct).unwrap();
        // SAFETY: reads a counter.
        let before = unsafe { recall_lab_top1_searches() };
        train(&mut here, &v).unwrap();
        let searches = unsafe { recall_lab_top1_searches() } - before;
        assert!(
            searches >= 10,
            "k-means iterations assigned here: {searches}"
        );
        assert!(here.is_trained());
        assert_eq!(centroids(&here), centroids(&by_faiss));
    }

    /// The two-step search gives FAISS's own `IndexIVF::search` at the call's nprobe, and the
    /// engine's own heaps give that answer too: best first, the same as FAISS sorting its own
    /// heaps, and in any order the same neighbours with the same scores.
    #[test]
    fn heaps_kept_here_give_what_faiss_gives() {
        let (n, dim) = (3_000, 16);
        let mut v = random_unit(n, dim, 3);
        // Twenty vectors listed twice more: equal scores, which the heaps must break as FAISS's
        // do (by label, in the order the lists are scanned).
        let twice = v[..20 * dim].to_vec();
        v[1_000 * dim..1_020 * dim].copy_from_slice(&twice);
        v[2_000 * dim..2_020 * dim].copy_from_slice(&twice);
        let build = || {
            let mut idx =
                faiss::index_factory(dim as u32, "IVF24,Flat", MetricType::InnerProduct).unwrap();
            idx.train(&v).unwrap();
            idx.add(&v).unwrap();
            idx
        };
        let faiss_heaps = SearchIndex::wrap(build(), Some(2), Heaps::Faiss);
        let ours = SearchIndex::wrap(build(), Some(2), Heaps::Caller);
        // FAISS's own one-call search, its nprobe set on the index.
        let mut reference = build();
        // SAFETY: a valid index pointer; the cast returns null for non-IVF indexes.
        let reference_ivf = unsafe { faiss_sys::faiss_IndexIVF_cast(reference.inner_ptr()) };
        assert!(!reference_ivf.is_null());
        let q = &v[..dim * 12];
        // k above what 3 lists hold, so some slots stay empty. Each call's nprobe differs from
        // the nprobe the wrapped indexes hold (FAISS's default, 1) but for the first.
        for (k, np) in [(10, 1), (400, 3), (600, 24)] {
            let plain = faiss_heaps.search(q, k, Some(np)).unwrap();
            // SAFETY: not shared; sets the nprobe FAISS's own search reads.
            unsafe { faiss_sys::faiss_IndexIVF_set_nprobe(reference_ivf, np) };
            let own = reference.search(q, k).unwrap();
            let own_labels: Vec<i64> = own.labels.iter().map(|l| l.to_native()).collect();
            assert_eq!(plain.labels, own_labels, "k {k}, nprobe {np}");
            assert_eq!(plain.scores, own.distances, "k {k}, nprobe {np}");
            // SAFETY: reads a counter.
            let before = unsafe { recall_lab_kernel_scans() };
            let best_first = ours.search(q, k, Some(np)).unwrap();
            let scans = unsafe { recall_lab_kernel_scans() } - before;
            assert!(
                scans >= 1,
                "k {k}, nprobe {np}: the lists were scanned by FAISS"
            );
            assert_eq!(best_first.labels, plain.labels, "k {k}, nprobe {np}");
            assert_eq!(best_first.scores, plain.scores, "k {k}, nprobe {np}");
            let any = ours.search_any_order(q, k, Some(np)).unwrap();
            for row in 0..12 {
                let set = |nb: &Neighbours| {
                    let mut r: Vec<(usize, u32)> =
                        nb.row(row).map(|(l, s)| (l, s.to_bits())).collect();
                    r.sort_unstable();
                    r
                };
                assert_eq!(set(&any), set(&plain), "k {k}, nprobe {np}, query {row}");
            }
        }
        assert!(
            faiss_heaps.search(q, 600, Some(3)).unwrap().labels[..12 * 600].contains(&-1),
            "the test must cover empty slots"
        );
    }

    /// The engine's coarse step picks FAISS's lists in FAISS's order with FAISS's centroid
    /// scores, bit for bit: for a dimension the eight-lane kernel takes (24) and one it leaves
    /// to FAISS's own dot product (20), an nlist that is not a multiple of its row blocks, and
    /// a batch a little larger than a recall's (queries are scored in pairs, the odd last one
    /// alone).
    #[test]
    fn coarse_step_picks_the_lists_faiss_picks() {
        let (n, nlist) = (3_000, 37);
        for dim in [24, 20] {
            let v = random_unit(n, dim, 5);
            let build = || {
                let mut idx = faiss::index_factory(
                    dim as u32,
                    format!("IVF{nlist},Flat"),
                    MetricType::InnerProduct,
                )
                .unwrap();
                idx.train(&v).unwrap();
                idx.add(&v).unwrap();
                idx
            };
            let faiss_quantizer = SearchIndex::wrap(build(), Some(2), Heaps::Faiss);
            let ours = SearchIndex::wrap(build(), Some(2), Heaps::Caller);
            let q = &v[dim * 100..dim * 111];
            for np in [1, 5, nlist] {
                let (near_f, lists_f) = faiss_quantizer.coarse(q, np).unwrap();
                let (near_o, lists_o) = ours.coarse(q, np).unwrap();
                assert_eq!(lists_o, lists_f, "dim {dim}, nprobe {np}");
                assert_eq!(near_o, near_f, "dim {dim}, nprobe {np}");
                assert!(lists_o.iter().all(|&l| (0..nlist as i64).contains(&l)));
            }
        }
    }

    #[test]
    fn concurrent_searches_with_different_nprobe_agree_with_serial_ones() {
        let (n, dim) = (4_000, 16);
        let v = random_unit(n, dim, 1);
        let mut idx =
            faiss::index_factory(dim as u32, "IVF32,Flat", MetricType::InnerProduct).unwrap();
        idx.train(&v).unwrap();
        idx.add(&v).unwrap();
        let idx = SearchIndex::wrap(idx, Some(2), Heaps::Caller);
        assert_eq!(idx.nlist, Some(32));
        let q = &v[..dim * 5];
        let serial: Vec<Vec<i64>> = [1, 4, 32]
            .iter()
            .map(|&np| idx.search(q, 50, Some(np)).unwrap().labels)
            .collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for (i, np) in [1, 4, 32].into_iter().enumerate() {
                        assert_eq!(idx.search(q, 50, Some(np)).unwrap().labels, serial[i]);
                    }
                });
            }
        });
        // Full probing equals exact search.
        let exact = exact_search(&v, dim, q, 50).unwrap();
        assert_eq!(
            recall_at(&idx.search(q, 50, Some(32)).unwrap(), &exact, 5, 50),
            1.0
        );
        assert!(idx.check_nprobe(Some(33)).is_err());
    }
}
