//! The one FAISS setting the C API cannot reach: `IndexIVF::parallel_mode`'s
//! `PARALLEL_MODE_NO_HEAP_INIT` bit, with which `search_preassigned` leaves each query's result
//! heap to the caller (no heapify before, no sort after). See `SearchIndex` in `index.rs`.

#include <faiss/IndexIVF.h>

extern "C" void recall_lab_ivf_set_caller_heaps(void* ivf, int on) {
    auto* index = static_cast<faiss::IndexIVF*>(ivf);
    if (on) {
        index->parallel_mode |= index->PARALLEL_MODE_NO_HEAP_INIT;
    } else {
        index->parallel_mode &= ~index->PARALLEL_MODE_NO_HEAP_INIT;
    }
}
