//! The foreign functions the index calls: `faiss_ivf.cpp`'s C++ (what FAISS's C API cannot
//! reach), OpenMP's per-thread team size, and turning their error reports into [`Error`]s.

use crate::error::Error;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

/// FAISS's `IO_FLAG_MMAP | IO_FLAG_READ_ONLY` (index_io.h; the `faiss` crate's `IoFlags` spells
/// them differently): an IVF index's inverted lists stay in the file and are mapped, not copied,
/// so a server starts without reading the lists and shares their pages with the OS cache.
/// Non-IVF indexes ignore it and are read into memory.
pub(super) const IO_FLAG_MMAP_READ_ONLY: c_int = (8 | 0x646f_0000) | 2;

unsafe extern "C" {
    /// libgomp: the OpenMP team size for parallel regions started from the calling thread.
    fn omp_get_max_threads() -> c_int;
    /// libgomp (linked by faiss-sys): sets the OpenMP team size for parallel regions started
    /// from the calling thread.
    fn omp_set_num_threads(n: c_int);
}

/// How many OpenMP threads FAISS may use for searches started from the calling thread. One
/// request alone may use every core; under concurrent load one thread per request avoids
/// oversubscription and OpenMP spin-waiting.
pub fn set_search_threads(n: usize) {
    // SAFETY: sets a per-thread OpenMP control variable; no memory is touched.
    unsafe { omp_set_num_threads(n.max(1) as c_int) }
}

/// The search team size set for the calling thread (see [`set_search_threads`]).
pub fn search_threads() -> usize {
    // SAFETY: reads a per-thread OpenMP control variable.
    unsafe { omp_get_max_threads() }.max(1) as usize
}

unsafe extern "C" {
    /// `faiss_ivf.cpp`: sets or clears `PARALLEL_MODE_NO_HEAP_INIT` on an `IndexIVF`.
    pub(super) fn recall_lab_ivf_set_caller_heaps(ivf: *mut faiss_sys::FaissIndexIVF, on: c_int);
    /// `faiss_ivf.cpp`: `IndexIVF::search_preassigned` with the call's `nprobe` as a search
    /// parameter (`assign` and `centroid_dis` hold `n * nprobe` entries), FAISS's own list scan;
    /// 0, or -1 with `error` filled.
    pub(super) fn recall_lab_ivf_search_preassigned(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        k: i64,
        assign: *const i64,
        centroid_dis: *const f32,
        nprobe: usize,
        distances: *mut f32,
        labels: *mut i64,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
    /// `faiss_ivf.cpp`: the work of `recall_lab_ivf_search_preassigned`, an IVFFlat
    /// inner-product index's lists scored eight vectors at a time by the project's kernel
    /// (FAISS's scores and heap, bit for bit), any other index by FAISS; 0, or -1 with `error`
    /// filled.
    pub(super) fn recall_lab_ivf_scan(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        k: i64,
        assign: *const i64,
        centroid_dis: *const f32,
        nprobe: usize,
        distances: *mut f32,
        labels: *mut i64,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
    /// `faiss_ivf.cpp`: the coarse step, the `nprobe` best lists of each query (`dis` and
    /// `lists` hold `n * nprobe`), as FAISS's flat quantizer gives them; 0, or -1 with `error`
    /// filled.
    pub(super) fn recall_lab_ivf_coarse(
        ivf: *const faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        nprobe: usize,
        dis: *mut f32,
        lists: *mut i64,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
    /// `faiss_ivf.cpp`: `IndexIVF::train` with k-means assigning the training points on one
    /// OpenMP team (its `Top1InnerProduct`); 0, or -1 with `error` filled.
    pub(super) fn recall_lab_ivf_train(
        ivf: *mut faiss_sys::FaissIndexIVF,
        n: i64,
        x: *const f32,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
    /// `faiss_ivf.cpp`: top-1 searches its `Top1InnerProduct` has answered so far.
    #[cfg(test)]
    pub(super) fn recall_lab_top1_searches() -> u64;
    /// `faiss_ivf.cpp`: calls of `recall_lab_ivf_scan` its own kernel has answered so far.
    #[cfg(test)]
    pub(super) fn recall_lab_kernel_scans() -> u64;
}

/// The error of a FAISS C API call that returned `code != 0`.
pub(super) fn last_error(code: i32) -> Error {
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

/// The error a `faiss_ivf.cpp` function reported in its message buffer.
pub(super) fn cpp_error(error: &[c_char]) -> Error {
    // Up to the NUL the C side's snprintf wrote, and never past the buffer.
    let bytes: Vec<u8> = error
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Error::Model(format!("faiss: {}", String::from_utf8_lossy(&bytes)))
}
