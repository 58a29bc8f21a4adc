//! The hit-path cost of access tracking: `Store::open_blob` (what every hit does: open the blob,
//! and with tracking, record its use in memory) on the plain local store against the tracked
//! one, on a store of 10,000 blobs, and the recording alone. Run: `cargo bench --bench hit_path`
//! (on a busy machine, run `-- tracking_on` and `-- tracking_off` in turns: the open dominates and
//! its noise is larger than the difference).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use larder::store::{LocalStore, LruStore, Store};
use sha2::{Digest as _, Sha256};
use std::io::Write;

const BLOBS: usize = 10_000;

fn fill(store: &dyn Store) -> Vec<String> {
    (0..BLOBS)
        .map(|i| {
            let bytes = format!("blob number {i}").repeat(64);
            let mut temp = store.create_temp().expect("temp");
            temp.file.write_all(bytes.as_bytes()).expect("write");
            let sha = hex::encode(Sha256::digest(bytes.as_bytes()));
            store.publish(&temp.path, &sha).expect("publish");
            sha
        })
        .collect()
}

fn open_blob(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = LocalStore::open(dir.path()).expect("store");
    let shas = fill(&plain);
    let tracked = LruStore::new(LocalStore::open(dir.path()).expect("store"), None).expect("lru");

    let mut group = c.benchmark_group("open_blob");
    let mut i = 0;
    group.bench_function("tracking_off", |b| {
        b.iter(|| {
            i = (i + 1) % BLOBS;
            black_box(plain.open_blob(&shas[i]).expect("open"))
        })
    });
    let mut i = 0;
    group.bench_function("tracking_on", |b| {
        b.iter(|| {
            i = (i + 1) % BLOBS;
            black_box(tracked.open_blob(&shas[i]).expect("open"))
        })
    });
    // The recording alone, which is all that tracking adds to a hit.
    let mut i = 0;
    group.bench_function("record_use_only", |b| {
        b.iter(|| {
            i = (i + 1) % BLOBS;
            tracked.record_use(black_box(&shas[i]))
        })
    });
    group.finish();
}

criterion_group!(benches, open_blob);
criterion_main!(benches);
