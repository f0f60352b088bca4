//! Unit tests of the index: nlist, training, the two search steps against FAISS's own, and
//! concurrent searches.

use super::build::train;
use super::ffi::{recall_lab_kernel_scans, recall_lab_top1_searches};
use super::*;
use faiss::{Index, MetricType};
use rand::SeedableRng;

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
    let mut here = faiss::index_factory(dim as u32, &factory, MetricType::InnerProduct).unwrap();
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
    let faiss_heaps = SearchIndex::wrap(build(), Some(2), Heaps::Faiss, SearchKernels::Faiss);
    let ours = SearchIndex::wrap(build(), Some(2), Heaps::Caller, SearchKernels::Engine);
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
                let mut r: Vec<(usize, u32)> = nb.row(row).map(|(l, s)| (l, s.to_bits())).collect();
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
        let faiss_quantizer =
            SearchIndex::wrap(build(), Some(2), Heaps::Faiss, SearchKernels::Faiss);
        let ours = SearchIndex::wrap(build(), Some(2), Heaps::Caller, SearchKernels::Engine);
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

/// Both kernel settings give the same neighbours with the same scores, bit for bit, whoever
/// keeps the heaps: best first, and in the heaps' own order when they are left unsorted (the
/// same pushes into the same heap), on the data of the tests above (twenty vectors listed three
/// times, so equal scores; a dimension the eight-lane kernel takes, 16 and 24, and one it
/// leaves to FAISS's dot product, 20), with empty slots where 3 lists hold fewer than k. Only
/// [`SearchKernels::Engine`] scans with the project's kernel.
#[test]
fn both_kernel_settings_give_the_same_results() {
    for (dim, nlist) in [(16, 24), (24, 37), (20, 37)] {
        let n = 3_000;
        let mut v = random_unit(n, dim, 3);
        let twice = v[..20 * dim].to_vec();
        v[1_000 * dim..1_020 * dim].copy_from_slice(&twice);
        v[2_000 * dim..2_020 * dim].copy_from_slice(&twice);
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
        let q = &v[..dim * 12];
        for heaps in [Heaps::Faiss, Heaps::Caller] {
            let faiss_kernels = SearchIndex::wrap(build(), Some(2), heaps, SearchKernels::Faiss);
            let engine = SearchIndex::wrap(build(), Some(2), heaps, SearchKernels::Engine);
            assert_eq!(engine.kernels(), SearchKernels::Engine);
            assert_eq!(engine.heaps(), heaps);
            for (k, np) in [(10, 1), (400, 3), (600, nlist)] {
                let at = format!("dim {dim}, {heaps:?} heaps, k {k}, nprobe {np}");
                // SAFETY: reads a counter.
                let before = unsafe { recall_lab_kernel_scans() };
                let ours = engine.search(q, k, Some(np)).unwrap();
                let ours_any = engine.search_any_order(q, k, Some(np)).unwrap();
                // Other tests may scan with the kernel meanwhile: only a lower bound holds.
                let scans = unsafe { recall_lab_kernel_scans() } - before;
                assert!(scans >= 2, "{at}: the engine's lists were scanned by FAISS");
                let plain = faiss_kernels.search(q, k, Some(np)).unwrap();
                let plain_any = faiss_kernels.search_any_order(q, k, Some(np)).unwrap();
                assert_eq!(ours.labels, plain.labels, "{at}");
                assert_eq!(ours.scores, plain.scores, "{at}");
                assert_eq!(ours_any.labels, plain_any.labels, "{at}");
                assert_eq!(ours_any.scores, plain_any.scores, "{at}");
                if np == 3 {
                    assert!(plain.labels.contains(&-1), "{at}: no empty slots");
                }
            }
        }
    }
}

#[test]
fn concurrent_searches_with_different_nprobe_agree_with_serial_ones() {
    let (n, dim) = (4_000, 16);
    let v = random_unit(n, dim, 1);
    let mut idx = faiss::index_factory(dim as u32, "IVF32,Flat", MetricType::InnerProduct).unwrap();
    idx.train(&v).unwrap();
    idx.add(&v).unwrap();
    let idx = SearchIndex::wrap(idx, Some(2), Heaps::Caller, SearchKernels::default());
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
