//! Searching a loaded index from many threads at once: [`SearchIndex`], its two settings (who
//! keeps the result heaps, [`Heaps`]; whose code runs the coarse step and the list scan,
//! [`SearchKernels`]), nprobe checks, and mapping the index's pages in ahead of the first
//! searches.

use super::ffi::{
    IO_FLAG_MMAP_READ_ONLY, cpp_error, last_error, recall_lab_ivf_coarse, recall_lab_ivf_scan,
    recall_lab_ivf_search_preassigned, recall_lab_ivf_set_caller_heaps, search_threads,
    set_search_threads,
};
use super::vector_index::{IndexEngine, Query, VectorIndex};
use crate::error::{Error, Result};
use faiss::{Index, MetricType};
use std::path::Path;

/// A batch is split over threads only when every thread gets at least this many queries: below
/// that, a slice's fixed costs (a quantizer call, heaps for k results, a hand-off to a helper)
/// eat most of the gain, while the second core is better left to other requests.
pub const MIN_QUERIES_PER_SLICE: usize = 4;

/// Who initialises and orders the result heaps of an IVF search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heaps {
    /// FAISS, as its own `search` does: it heapifies each query's k slots, fills them, then
    /// heap-sorts them best first. The plain FAISS search, which the benchmarks compare with.
    Faiss,
    /// This code (FAISS's `PARALLEL_MODE_NO_HEAP_INIT`): the slots start empty here, the list
    /// scan fills them as FAISS's heap, and they are sorted here only when the caller asks for
    /// [`Order::BestFirst`], because a recall's content channel regroups its hits by row anyway
    /// and the sort is then wasted work. The engine's search.
    Caller,
}

/// Whose code runs the two steps of an IVF search: the coarse step (each query's `nprobe` best
/// lists) when the quantizer is a flat inner-product index, and the list scan when the index is
/// an IVFFlat inner-product index; FAISS runs any other step whatever this says. Both settings
/// give the same lists, scores and labels, bit for bit, so the choice is only about speed.
/// Independent of [`Heaps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKernels {
    /// FAISS's own code: the quantizer's `search`, then `search_preassigned` with FAISS's
    /// IVFFlat scanner, which scores one vector at a time.
    Faiss,
    /// The project's kernels in `faiss_ivf.cpp`, which keep eight dot products in flight (and
    /// score a batch's queries two at a time in the coarse step), each summed as FAISS sums it
    /// and pushed into FAISS's heap in FAISS's order, so the results stay FAISS's.
    Engine,
}

impl SearchKernels {
    /// The faster setting on this CPU by the A/B measurements in `bench/results/`: the
    /// project's kernels won on the Intel Xeon kind (AVX-512) and lost to FAISS's own code on
    /// the AMD EPYC kind (AVX2 only).
    pub fn for_this_cpu() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return SearchKernels::Engine;
        }
        SearchKernels::Faiss
    }
}

impl Default for SearchKernels {
    fn default() -> Self {
        Self::for_this_cpu()
    }
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
    pub(super) inner: faiss::index::IndexImpl,
    /// Non-null when the index is an IVF index (nprobe applies).
    pub(super) ivf: *mut faiss_sys::FaissIndexIVF,
    heaps: Heaps,
    kernels: SearchKernels,
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
    /// The time a remote engine spent on the search (Milvus: the gRPC call), for the recall's
    /// timings; `None` in process.
    pub engine_ms: Option<f64>,
}

impl Neighbours {
    pub fn new(k: usize, scores: Vec<f32>, labels: Vec<i64>) -> Self {
        Neighbours {
            k,
            scores,
            labels,
            engine_ms: None,
        }
    }

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
    pub(super) fn wrap(
        inner: faiss::index::IndexImpl,
        default_nprobe: Option<usize>,
        heaps: Heaps,
        kernels: SearchKernels,
    ) -> Self {
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
            kernels,
            nlist,
            default_nprobe,
        }
    }

    /// Reads `faiss.index` (what `recall-lab index` or Python's `faiss.write_index` wrote), for
    /// the engine: [`Heaps::Caller`] and the default [`SearchKernels`].
    pub fn load(path: &Path, default_nprobe: Option<usize>) -> Result<Self> {
        Self::load_with_kernels(
            path,
            default_nprobe,
            Heaps::Caller,
            SearchKernels::default(),
        )
    }

    /// [`SearchIndex::load`] for the search `heaps` names: [`Heaps::Faiss`] is the plain FAISS
    /// search (FAISS's heaps and [`SearchKernels::Faiss`], the benchmarks' reference),
    /// [`Heaps::Caller`] the engine's (the default kernels). To choose both settings, see
    /// [`SearchIndex::load_with_kernels`].
    pub fn load_with(path: &Path, default_nprobe: Option<usize>, heaps: Heaps) -> Result<Self> {
        let kernels = match heaps {
            Heaps::Faiss => SearchKernels::Faiss,
            Heaps::Caller => SearchKernels::default(),
        };
        Self::load_with_kernels(path, default_nprobe, heaps, kernels)
    }

    /// [`SearchIndex::load`] with the heaps left to `heaps` and the two search steps run by
    /// `kernels`.
    pub fn load_with_kernels(
        path: &Path,
        default_nprobe: Option<usize>,
        heaps: Heaps,
        kernels: SearchKernels,
    ) -> Result<Self> {
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
        Ok(Self::wrap(inner, default_nprobe, heaps, kernels))
    }

    /// Starts a background thread that maps every page of this index's file mapping into the
    /// process (`MADV_POPULATE_READ`), so the first requests after a start or a reindex do not
    /// pay one page fault per touched page of the inverted lists. Serving starts without
    /// waiting for it; the handle lets a caller that must not measure page faults (the bare
    /// benchmark) wait. `None` for indexes read into memory, or off Linux.
    pub fn prefault_in_background(&self, path: &Path) -> Option<std::thread::JoinHandle<()>> {
        Self::prefault_file(path)
    }

    /// [`SearchIndex::prefault_in_background`] for the index file at `path`, once mapped by
    /// this process (the mapping is found by the file, not through an index value).
    pub fn prefault_file(path: &Path) -> Option<std::thread::JoinHandle<()>> {
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

    /// Who keeps this index's result heaps.
    pub fn heaps(&self) -> Heaps {
        self.heaps
    }

    /// Whose code runs this index's coarse step and list scan.
    pub fn kernels(&self) -> SearchKernels {
        self.kernels
    }

    /// Searches `queries` (row-major, `dim` per row) for `k` neighbours each.
    ///
    /// IVF indexes are searched in two steps, as FAISS's own `IndexIVF::search` does: the coarse
    /// quantizer picks `nprobe` lists per query, then the lists are scanned, each step by the
    /// index's [`SearchKernels`]. Doing the two steps here lets nprobe vary per call without
    /// touching shared state, and skips the per-search prefetch threads FAISS starts for
    /// memory-mapped inverted lists. The batch is split over the calling thread's OpenMP team
    /// size, like FAISS does, when every thread gets at least [`MIN_QUERIES_PER_SLICE`] queries:
    /// the calling thread and the long-lived helper threads ([`crate::cores`]) take them one at
    /// a time. Each query's neighbours come back best first.
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
            return Ok(Neighbours::new(k, scores, labels));
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
        Ok(Neighbours::new(k, scores, labels))
    }

    /// The coarse step of an IVF search: each query's `nprobe` best lists, best first, with
    /// their centroid scores. [`SearchKernels::Faiss`] asks FAISS's quantizer;
    /// [`SearchKernels::Engine`] computes the same choice, with the same scores bit for bit, in
    /// `faiss_ivf.cpp`, because for a recall's few queries FAISS's flat index stays below its
    /// BLAS threshold and scores one centroid at a time.
    pub(super) fn coarse(&self, queries: &[f32], nprobe: usize) -> Result<(Vec<f32>, Vec<i64>)> {
        let nq = queries.len() / self.dim;
        let mut near = vec![0f32; nq * nprobe];
        let mut lists = vec![-1i64; nq * nprobe];
        if self.kernels == SearchKernels::Engine {
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
        // Either scan fills the heaps `self.heaps` names (the index's heap flag, set at load).
        let scan = match self.kernels {
            SearchKernels::Engine => recall_lab_ivf_scan,
            SearchKernels::Faiss => recall_lab_ivf_search_preassigned,
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

/// FAISS is named in the manifest without parameters; one value serves every index.
static FAISS: IndexEngine = IndexEngine::Faiss;

impl VectorIndex for SearchIndex {
    fn engine(&self) -> &IndexEngine {
        &FAISS
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn ntotal(&self) -> usize {
        self.ntotal
    }

    fn nlist(&self) -> Option<usize> {
        self.nlist
    }

    fn default_nprobe(&self) -> Option<usize> {
        self.default_nprobe
    }

    fn filters_in_search(&self) -> bool {
        false
    }

    fn search(&self, q: &Query<'_>) -> Result<Neighbours> {
        self.search_in(q.vectors, q.k, q.nprobe, q.order)
    }
}
