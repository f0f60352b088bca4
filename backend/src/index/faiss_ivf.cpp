//! What the FAISS C API cannot reach: `IndexIVF::parallel_mode`'s `PARALLEL_MODE_NO_HEAP_INIT`
//! bit, with which `search_preassigned` leaves each query's result heap to the caller (no
//! heapify before, no sort after; see `Heaps` in `search.rs`), `search_preassigned` with
//! search parameters (the call's own nprobe), the project's kernels for the two search steps
//! (`SearchKernels::Engine` in `search.rs`), which keep eight dot products in flight and sum
//! each as FAISS's `fvec_inner_product` does (the coarse step, `recall_lab_ivf_coarse`: FAISS's
//! flat inner-product quantizer's lists; the list scan, `recall_lab_ivf_scan`: FAISS's IVFFlat
//! scanner's heaps), and the index FAISS's k-means assigns training points with
//! (`Level1Quantizer::clustering_index`), which `recall_lab_ivf_train` sets to
//! `Top1InnerProduct` below for the length of one `train`.

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <cinttypes>
#include <atomic>
#include <cstdio>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <typeinfo>
#include <vector>

#ifdef __AVX2__
#include <immintrin.h>
#endif

extern "C" void recall_lab_ivf_set_caller_heaps(void* ivf, int on) {
    auto* index = static_cast<faiss::IndexIVF*>(ivf);
    if (on) {
        index->parallel_mode |= index->PARALLEL_MODE_NO_HEAP_INIT;
    } else {
        index->parallel_mode &= ~index->PARALLEL_MODE_NO_HEAP_INIT;
    }
}

/// `IndexIVF::search_preassigned` of `n` queries `x` whose `nprobe` lists each are in `assign`
/// (with their coarse scores in `centroid_dis`, both `n * nprobe`), for `k` results each, with
/// `nprobe` passed as a search parameter: the index's own nprobe is not read, so the
/// assignment holds only the lists probed. Returns 0, or -1 with `error` (of `error_len`
/// bytes) filled.
extern "C" int recall_lab_ivf_search_preassigned(
        const void* ivf,
        int64_t n,
        const float* x,
        int64_t k,
        const int64_t* assign,
        const float* centroid_dis,
        size_t nprobe,
        float* distances,
        int64_t* labels,
        char* error,
        size_t error_len) {
    const auto* index = static_cast<const faiss::IndexIVF*>(ivf);
    faiss::SearchParametersIVF params;
    params.nprobe = nprobe;
    try {
        index->search_preassigned(
                n, x, k, assign, centroid_dis, distances, labels, false, &params);
    } catch (const std::exception& e) {
        snprintf(error, error_len, "%s", e.what());
        return -1;
    }
    return 0;
}

namespace {

#if defined(__AVX2__) && defined(__FMA__)
/// The sums of eight accumulators' lanes, in order, each added up as FAISS's compiled
/// `fvec_inner_product` adds up its one accumulator: low half plus high half (t, four lanes),
/// then (t0 + t2) + (t1 + t3).
inline __m256 sums8(const __m256 (&a)[8]) {
    // t_i = low half + high half of a[i], two accumulators per register: [t_i | t_i+1].
    __m256 t[4];
    for (size_t i = 0; i < 4; i++) {
        const __m256 lo = _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x20);
        const __m256 hi = _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x31);
        t[i] = _mm256_add_ps(lo, hi);
    }
    // Lanes (t0 + t2, t1 + t3) of each: accumulators 0, 2 | 1, 3 and 4, 6 | 5, 7.
    const __m256 u0 = _mm256_add_ps(
            _mm256_shuffle_ps(t[0], t[1], 0x44), _mm256_shuffle_ps(t[0], t[1], 0xEE));
    const __m256 u1 = _mm256_add_ps(
            _mm256_shuffle_ps(t[2], t[3], 0x44), _mm256_shuffle_ps(t[2], t[3], 0xEE));
    // Each one's two lanes added: 0, 2, 4, 6 | 1, 3, 5, 7, then put in order.
    const __m256 sums = _mm256_hadd_ps(u0, u1);
    return _mm256_permutevar8x32_ps(sums, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
#endif

/// Inner products of `q` with `m` rows of `y` (`d` floats each, row-major), each given to
/// `sink(row, score)` in row order as soon as its block of eight is done: bit for
/// bit what FAISS's `fvec_inner_product` gives for each row. Eight rows at a time, each with its
/// own accumulator, so the FMAs of eight rows overlap: FAISS 1.12's `fvec_inner_product`, which
/// its flat index calls per row for a few queries and its IVFFlat scanner per listed vector,
/// waits on one accumulator's latency at every step. Each row's sum is FAISS's: its eight
/// lanes accumulate the same FMAs in the same order from zero, and they are added up in the
/// order of FAISS's (compiled, AVX2) reduction (`sums8`). Rows of a dimension that is not a
/// multiple of eight, and the last `m % 8` rows, are FAISS's own calls.
template <class Sink>
void inner_products(const float* q, const float* y, size_t d, size_t m, Sink&& sink) {
    size_t r = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (d >= 8 && d % 8 == 0) {
        for (; r + 8 <= m; r += 8) {
            const float* row = y + r * d;
            __m256 a[8];
            for (auto& v : a) {
                v = _mm256_setzero_ps();
            }
            // The next eight rows, a cache line of each every other step, read ahead.
            const bool ahead = r + 16 <= m;
            const char* next = reinterpret_cast<const char*>(row + 8 * d);
            for (size_t j = 0; j < d; j += 8) {
                if (ahead && j % 16 == 0) {
                    for (size_t i = 0; i < 8; i++) {
                        _mm_prefetch(next + (i * d + j) * sizeof(float), _MM_HINT_T0);
                    }
                }
                const __m256 x = _mm256_loadu_ps(q + j);
                for (size_t i = 0; i < 8; i++) {
                    a[i] = _mm256_fmadd_ps(x, _mm256_loadu_ps(row + i * d + j), a[i]);
                }
            }
            alignas(32) float out[8];
            _mm256_store_ps(out, sums8(a));
            // Taken here, before the next rows' FMAs: the CPU overlaps the two.
            for (size_t i = 0; i < 8; i++) {
                sink(r + i, out[i]);
            }
        }
    }
#endif
    for (; r < m; r++) {
        sink(r, faiss::fvec_inner_product(q, y + r * d, d));
    }
}

/// `inner_products` for two queries `q0` and `q1` at once, into `out0` and `out1` (`m` each),
/// the same sums bit for bit: four rows at a time, each row read once for both queries, so a
/// batch's coarse step reads the centroids (more than an L2 cache holds at a large catalog)
/// half as often. Kept beside `inner_products` rather than merged into one template over the
/// query count, because the merged kernel slowed the list scan down.
void inner_products2(
        const float* q0,
        const float* q1,
        const float* y,
        size_t d,
        size_t m,
        float* out0,
        float* out1) {
    size_t r = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (d >= 8 && d % 8 == 0) {
        for (; r + 4 <= m; r += 4) {
            const float* row = y + r * d;
            // a[i]: q0 with row i; a[4 + i]: q1 with row i.
            __m256 a[8];
            for (auto& v : a) {
                v = _mm256_setzero_ps();
            }
            const bool ahead = r + 8 <= m;
            const char* next = reinterpret_cast<const char*>(row + 4 * d);
            for (size_t j = 0; j < d; j += 8) {
                if (ahead && j % 16 == 0) {
                    for (size_t i = 0; i < 4; i++) {
                        _mm_prefetch(next + (i * d + j) * sizeof(float), _MM_HINT_T0);
                    }
                }
                const __m256 x0 = _mm256_loadu_ps(q0 + j);
                const __m256 x1 = _mm256_loadu_ps(q1 + j);
                for (size_t i = 0; i < 4; i++) {
                    const __m256 v = _mm256_loadu_ps(row + i * d + j);
                    a[i] = _mm256_fmadd_ps(x0, v, a[i]);
                    a[4 + i] = _mm256_fmadd_ps(x1, v, a[4 + i]);
                }
            }
            alignas(32) float sums[8];
            _mm256_store_ps(sums, sums8(a));
            for (size_t i = 0; i < 4; i++) {
                out0[r + i] = sums[i];
                out1[r + i] = sums[4 + i];
            }
        }
    }
#endif
    for (; r < m; r++) {
        out0[r] = faiss::fvec_inner_product(q0, y + r * d, d);
        out1[r] = faiss::fvec_inner_product(q1, y + r * d, d);
    }
}

} // namespace

/// The coarse step of an IVF search: for each of `n` queries `x`, the `nprobe` lists whose
/// centroids score highest, best first, into `lists` with their scores in `dis` (both
/// `n * nprobe`; unused slots hold -1), as FAISS's flat quantizer returns them: the same heap,
/// the same tie order. Only for a flat inner-product quantizer; any other quantizer is asked
/// to search itself. Returns 0, or -1 with `error` (of `error_len` bytes) filled.
extern "C" int recall_lab_ivf_coarse(
        const void* ivf,
        int64_t n,
        const float* x,
        size_t nprobe,
        float* dis,
        int64_t* lists,
        char* error,
        size_t error_len) {
    const auto* index = static_cast<const faiss::IndexIVF*>(ivf);
    try {
        const auto* flat = dynamic_cast<const faiss::IndexFlat*>(index->quantizer);
        if (flat == nullptr || flat->metric_type != faiss::METRIC_INNER_PRODUCT) {
            index->quantizer->search(n, x, nprobe, dis, lists);
            return 0;
        }
        using C = faiss::CMin<float, int64_t>;
        const size_t d = flat->d, nlist = flat->ntotal;
        // Two queries' scores at a time (one row read for both), a last odd one alone.
        std::vector<float> scores(2 * nlist);
        for (int64_t i = 0; i < n; i++) {
            const float* q = x + i * d;
            float* hd = dis + i * nprobe;
            int64_t* hi = lists + i * nprobe;
            // An odd-numbered query was scored with the one before it.
            if (i % 2 == 0 && i + 1 < n) {
                inner_products2(
                        q, q + d, flat->get_xb(), d, nlist, scores.data(), scores.data() + nlist);
            } else if (i % 2 == 0) {
                inner_products(q, flat->get_xb(), d, nlist, [&](size_t j, float ip) {
                    scores[j] = ip;
                });
            }
            const float* own = scores.data() + (i % 2) * nlist;
            faiss::heap_heapify<C>(nprobe, hd, hi);
            for (size_t j = 0; j < nlist; j++) {
                if (C::cmp(hd[0], own[j])) {
                    faiss::heap_replace_top<C>(nprobe, hd, hi, own[j], j);
                }
            }
            faiss::heap_reorder<C>(nprobe, hd, hi);
        }
    } catch (const std::exception& e) {
        snprintf(error, error_len, "%s", e.what());
        return -1;
    }
    return 0;
}

namespace {
/// Calls of `recall_lab_ivf_scan` that its kernel answered (for the tests).
std::atomic<uint64_t> kernel_scans{0};
} // namespace

/// How many calls of `recall_lab_ivf_scan` its own kernel has answered since the process started.
extern "C" uint64_t recall_lab_kernel_scans(void) {
    return kernel_scans.load();
}

/// The list scan of an IVF search: `search_preassigned`'s work for `n` queries `x` whose
/// `nprobe` lists each are in `assign`, `k` results each. For a plain `IndexIVFFlat` under the
/// inner product whose lists are in memory (or mapped), each list's vectors are scored by
/// `inner_products`, eight at a time, and pushed into the query's heap in list order exactly as
/// FAISS's `IVFFlatScanner::scan_codes` pushes them: the same scores bit for bit, the same heap,
/// so the same results, because FAISS scores one vector at a time on one accumulator. The heaps
/// are the caller's when the index has `PARALLEL_MODE_NO_HEAP_INIT`; otherwise each is
/// heapified before and sorted after, as `search_preassigned` does. Any other index goes to
/// `recall_lab_ivf_search_preassigned`. Runs on the calling thread, as FAISS's
/// `search_preassigned` does in its default parallel mode. Returns 0, or -1 with `error` (of
/// `error_len` bytes) filled.
extern "C" int recall_lab_ivf_scan(
        const void* ivf,
        int64_t n,
        const float* x,
        int64_t k,
        const int64_t* assign,
        const float* centroid_dis,
        size_t nprobe,
        float* distances,
        int64_t* labels,
        char* error,
        size_t error_len) {
    const auto* index = static_cast<const faiss::IndexIVF*>(ivf);
    const bool caller_heaps = (index->parallel_mode & index->PARALLEL_MODE_NO_HEAP_INIT) != 0;
    const bool ours = typeid(*index) == typeid(faiss::IndexIVFFlat) &&
            index->metric_type == faiss::METRIC_INNER_PRODUCT &&
            (index->parallel_mode & ~index->PARALLEL_MODE_NO_HEAP_INIT) == 0 &&
            index->invlists != nullptr && !index->invlists->use_iterator &&
            index->code_size == index->d * sizeof(float);
    if (!ours) {
        return recall_lab_ivf_search_preassigned(
                ivf, n, x, k, assign, centroid_dis, nprobe, distances, labels, error, error_len);
    }
    kernel_scans.fetch_add(1, std::memory_order_relaxed);
    using C = faiss::CMin<float, faiss::idx_t>;
    const size_t d = index->d;
    const auto* lists = index->invlists;
    try {
        for (int64_t i = 0; i < n; i++) {
            const float* xi = x + i * d;
            float* simi = distances + i * k;
            faiss::idx_t* idxi = labels + i * k;
            if (!caller_heaps) {
                faiss::heap_heapify<C>(k, simi, idxi);
            }
            for (size_t p = 0; p < nprobe; p++) {
                const faiss::idx_t key = assign[i * nprobe + p];
                if (key < 0) {
                    continue; // fewer lists than nprobe
                }
                FAISS_THROW_IF_NOT_FMT(
                        key < faiss::idx_t(index->nlist),
                        "Invalid key=%" PRId64 " nlist=%zd",
                        key,
                        index->nlist);
                const size_t size = lists->list_size(key);
                if (size == 0) {
                    continue;
                }
                faiss::InvertedLists::ScopedCodes codes(lists, key);
                faiss::InvertedLists::ScopedIds ids(lists, key);
                const auto* vectors = reinterpret_cast<const float*>(codes.get());
                const faiss::idx_t* listed = ids.get();
                inner_products(xi, vectors, d, size, [&](size_t j, float dis) {
                    if (C::cmp(simi[0], dis)) {
                        faiss::heap_replace_top<C>(k, simi, idxi, dis, listed[j]);
                    }
                });
            }
            if (!caller_heaps) {
                faiss::heap_reorder<C>(k, simi, idxi);
            }
        }
    } catch (const std::exception& e) {
        snprintf(error, error_len, "%s", e.what());
        return -1;
    }
    return 0;
}

// The BLAS that faiss-sys links (OpenBLAS, LP64: 32-bit integers).
extern "C" int sgemm_(
        const char* transa,
        const char* transb,
        const int* m,
        const int* n,
        const int* k,
        const float* alpha,
        const float* a,
        const int* lda,
        const float* b,
        const int* ldb,
        const float* beta,
        float* c,
        const int* ldc);
// OpenBLAS's own thread control; weak, so another BLAS would leave them null.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace {

/// Top-1 searches `Top1InnerProduct` has answered itself (for the tests).
std::atomic<uint64_t> top1_searches{0};

/// Index and value of the first largest of `v[0..n)` (n > 0; NaNs never win), as FAISS's top-1
/// handler picks it (a later value replaces the best only when strictly greater).
std::pair<int64_t, float> first_max(const float* v, size_t n) {
    float best = -std::numeric_limits<float>::infinity();
    size_t j = 0;
#ifdef __AVX2__
    __m256 m0 = _mm256_set1_ps(best), m1 = m0, m2 = m0, m3 = m0;
    for (; j + 32 <= n; j += 32) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(v + j));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(v + j + 8));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(v + j + 16));
        m3 = _mm256_max_ps(m3, _mm256_loadu_ps(v + j + 24));
    }
    __m256 m = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    for (float x : lanes) {
        best = x > best ? x : best;
    }
#endif
    for (; j < n; j++) {
        best = v[j] > best ? v[j] : best;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] == best) {
            return {int64_t(i), best};
        }
    }
    return {-1, best}; // every value NaN or -inf
}

/// An inner-product flat index whose top-1 search (what k-means asks for every training point
/// in every iteration) runs on one OpenMP team: each thread multiplies its own block of points
/// against all centroids with a single-threaded BLAS call and takes each point's best. FAISS's
/// own search alternates a multi-threaded BLAS call (OpenBLAS's thread pool) with a top-1 pass
/// on the OpenMP team, and the two pools spin and yield at every hand-over; FAISS 1.12's top-1
/// pass is also its generic result handler. Any other search is IndexFlatIP's.
struct Top1InnerProduct : faiss::IndexFlatIP {
    explicit Top1InnerProduct(faiss::idx_t d) : faiss::IndexFlatIP(d) {}

    void search(
            faiss::idx_t n,
            const float* x,
            faiss::idx_t k,
            float* distances,
            faiss::idx_t* labels,
            const faiss::SearchParameters* params) const override {
        if (k != 1 || params != nullptr || ntotal == 0 || n < kBlock ||
            openblas_set_num_threads == nullptr || openblas_get_num_threads == nullptr) {
            faiss::IndexFlatIP::search(n, x, k, distances, labels, params);
            return;
        }
        const float* xb = get_xb();
        const int ny = int(ntotal), di = int(d);
        const float one = 1, zero = 0;
        const faiss::idx_t blocks = (n + kBlock - 1) / kBlock;
        int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
        std::exception_ptr failed;
#pragma omp parallel
        {
            std::vector<float> ip(size_t(kBlock) * ny);
#pragma omp for schedule(dynamic)
            for (faiss::idx_t b = 0; b < blocks; b++) {
                try {
                    const faiss::idx_t i0 = b * kBlock;
                    const int nx = int(std::min<faiss::idx_t>(kBlock, n - i0));
                    // ip[i][j] = x[i0 + i] · xb[j], row-major nx × ny, as FAISS computes it.
                    sgemm_("Transpose", "Not transpose", &ny, &nx, &di, &one, xb, &di,
                           x + i0 * d, &di, &zero, ip.data(), &ny);
                    for (int i = 0; i < nx; i++) {
                        auto [j, best] = first_max(ip.data() + size_t(i) * ny, ny);
                        labels[i0 + i] = j;
                        distances[i0 + i] = best;
                    }
                } catch (...) {
#pragma omp critical
                    failed = std::current_exception();
                }
            }
        }
        openblas_set_num_threads(blas_threads);
        top1_searches.fetch_add(1);
        if (failed) {
            std::rethrow_exception(failed);
        }
    }

    /// Training points per BLAS call: 256 points against 4,096 centroids is a 4 MB block.
    static constexpr faiss::idx_t kBlock = 256;
};

} // namespace

/// How many top-1 searches `Top1InnerProduct` has answered itself since the process started.
extern "C" uint64_t recall_lab_top1_searches(void) {
    return top1_searches.load();
}

/// Trains `ivf` on `n` vectors `x` as `IndexIVF::train` does, with k-means assigning points
/// through `Top1InnerProduct` when the coarse quantizer is a flat inner-product index trained
/// with the IVF (`IVF{nlist},…` under the inner product, what the builds make); otherwise
/// FAISS's own assignment. Returns 0, or -1 with `error` (of `error_len` bytes) filled.
extern "C" int recall_lab_ivf_train(
        void* ivf,
        int64_t n,
        const float* x,
        char* error,
        size_t error_len) {
    auto* index = static_cast<faiss::IndexIVF*>(ivf);
    std::unique_ptr<Top1InnerProduct> assigner;
    const bool ours = index->clustering_index == nullptr &&
            index->quantizer_trains_alone == 0 &&
            index->metric_type == faiss::METRIC_INNER_PRODUCT &&
            index->quantizer->metric_type == faiss::METRIC_INNER_PRODUCT &&
            dynamic_cast<faiss::IndexFlat*>(index->quantizer) != nullptr;
    if (ours) {
        assigner = std::make_unique<Top1InnerProduct>(index->d);
        index->clustering_index = assigner.get();
    }
    int code = 0;
    try {
        index->train(n, x);
    } catch (const std::exception& e) {
        snprintf(error, error_len, "%s", e.what());
        code = -1;
    }
    if (ours) {
        index->clustering_index = nullptr;
    }
    return code;
}
