//! What the FAISS C API cannot reach: `IndexIVF::parallel_mode`'s `PARALLEL_MODE_NO_HEAP_INIT`
//! bit, with which `search_preassigned` leaves each query's result heap to the caller (no
//! heapify before, no sort after; see `SearchIndex` in `index.rs`), `search_preassigned` with
//! search parameters (the call's own nprobe), and the index FAISS's
//! k-means assigns training points with (`Level1Quantizer::clustering_index`), which
//! `recall_lab_ivf_train` sets to `Top1InnerProduct` below for the length of one `train`.

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
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
