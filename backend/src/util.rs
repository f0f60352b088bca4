//! Small helpers shared by the engine's modules.

use std::time::Instant;

/// Tells glibc's malloc to keep freed memory for reuse instead of returning it to the kernel at
/// once. Call first thing in `main`, before other threads start.
///
/// A recall allocates and frees large buffers (FAISS's result buffers, the merged hits, the
/// fused list, the answer). With glibc's defaults such buffers are mapped and unmapped per
/// request and a thread's arena is trimmed whenever its top is free, so each request faults its
/// memory in again; with these settings a request reuses what the one before it freed.
/// What stays allocated is bounded by the trim threshold per arena.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

/// How much of a mapping one `MADV_POPULATE_READ` call maps in (see [`populate_read`]).
const POPULATE_CHUNK: usize = 8 << 20;

/// Maps every page of `[start, start + len)` into the process (`MADV_POPULATE_READ`), a chunk
/// of [`POPULATE_CHUNK`] per call.
///
/// One call over a whole mapping holds the process's mmap lock for reading until it is done, so
/// a thread that maps or unmaps memory meanwhile (a large allocation, a new thread's stack)
/// waits for all of it, and later page faults queue behind that writer; between chunks the lock
/// is free. From a cold page cache the disk is the limit, not the lock, which is why
/// `recall::Loaded::load` starts the prefaults only after the rest of the build is read.
#[cfg(target_os = "linux")]
pub fn populate_read(start: *const u8, len: usize) -> std::io::Result<()> {
    let page = 4096;
    let mut at = (start as usize) & !(page - 1);
    let end = start as usize + len;
    while at < end {
        let n = POPULATE_CHUNK.min(end - at);
        // SAFETY: madvise only changes how the kernel backs the range; a range that is no
        // longer mapped (a reindex dropped it) makes the call fail, harmlessly.
        if unsafe { libc::madvise(at as *mut libc::c_void, n, libc::MADV_POPULATE_READ) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        at += n;
    }
    Ok(())
}

/// Milliseconds elapsed since `t`.
pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A stable 64-bit hash of a title (first 8 bytes of its SHA-256), for change detection.
pub fn text_hash(s: &str) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Text made safe for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
