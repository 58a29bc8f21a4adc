//! The hit path's costs:
//!
//! - `open_blob`: access tracking. `Store::open_blob` (what every hit does: open the blob, and
//!   with tracking, record its use in memory) on the plain local store against the tracked one,
//!   on a store of 10,000 blobs, and the recording alone.
//! - `hit_body`: checking hits against their blob's name (`store::integrity`). A hit's body, from
//!   the lookup's result to its last byte (`integrity::check_hit`, then `body::blob_range`
//!   collected), for a small blob served from memory (20 KB), a large one hashed whole before it
//!   is served (4 MiB) and a huge one hashed as it streams (32 MiB), each with hashing `off`,
//!   `always` (every hit hashed), and `unverified` (the default: the blob was verified before, so
//!   only the memory of that is consulted).
//!
//! Run: `cargo bench --bench hit_path` (on a busy machine, run `-- tracking_on` and
//! `-- tracking_off` in turns: the open dominates and its noise is larger than the difference).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use futures_util::TryStreamExt;
use larder::store::integrity::{check_hit, HitHashing};
use larder::store::{LocalStore, LruStore, Pointer, Store};
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest as _, Sha256};
use std::io::Write;

const BLOBS: usize = 10_000;

fn fill(store: &dyn Store) -> Vec<String> {
    (0..BLOBS)
        .map(|i| {
            let bytes = format!("blob number {i}").repeat(64);
            publish(store, bytes.as_bytes())
        })
        .collect()
}

fn publish(store: &dyn Store, bytes: &[u8]) -> String {
    let mut temp = store.create_temp().expect("temp");
    temp.file.write_all(bytes).expect("write");
    let sha = hex::encode(Sha256::digest(bytes));
    store.publish(&temp.path, &sha).expect("publish");
    sha
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

fn hit_body(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let blob = |len: u32| -> Vec<u8> { (0..len).map(|i| (i % 251) as u8).collect() };
    let store = LocalStore::open(dir.path()).expect("store");
    let blobs: Vec<(&str, String, usize)> = [
        ("small_20KB", 20_000),
        ("large_4MiB", 4 << 20),
        ("huge_32MiB", 32 << 20),
    ]
    .into_iter()
    .map(|(name, len)| (name, publish(&store, &blob(len)), len as usize))
    .collect();
    let mut group = c.benchmark_group("hit_body");
    for (name, sha, len) in &blobs {
        let (sha, len) = (sha.as_str(), *len);
        group.throughput(Throughput::Bytes(len as u64));
        for (mode, hashing) in [
            ("off", HitHashing::Off),
            ("always", HitHashing::Always),
            ("unverified", HitHashing::Unverified),
        ] {
            let store = LocalStore::open(dir.path())
                .expect("store")
                .with_hit_hashing(hashing);
            group.bench_function(format!("{name}/{mode}"), |b| {
                b.iter(|| {
                    // As the engine does: open (and read a small blob whole), check, then serve.
                    let mut blob = store.open_blob(sha).expect("open").expect("stored");
                    if blob.len <= 64 * 1024 {
                        // As the engine reads a small blob with its lookup.
                        let mut content = vec![0; blob.len as usize];
                        std::os::unix::fs::FileExt::read_exact_at(&blob.file, &mut content, 0)
                            .expect("read");
                        blob.content = Some(content.into());
                    }
                    let pointer = Pointer::stored("bench", sha, len as u64);
                    runtime
                        .block_on(check_hit("bench", &pointer, &mut blob))
                        .expect("a sound blob");
                    let body =
                        larder::body::blob_range(blob, 0, len as u64, Counter::default(), || {
                            larder::body::Audit {
                                key: "bench".into(),
                                quarantined: Counter::default(),
                            }
                        });
                    let chunks: Vec<bytes::Bytes> =
                        runtime.block_on(body.try_collect()).expect("a sound blob");
                    black_box(chunks)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, open_blob, hit_body);
criterion_main!(benches);
