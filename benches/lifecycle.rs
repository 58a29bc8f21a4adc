//! How long `larder verify` and `larder gc` take on a store of 10,000 blobs (16 KiB each, one
//! pointer each): the same functions the commands run, without their printing.
//! Run: `cargo bench --bench lifecycle`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use larder::store::evict::{self, Policy};
use larder::store::{now_ms, verify, LocalStore, Pointer, Store};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::Path;

const BLOBS: usize = 10_000;
const SIZE: usize = 16 * 1024;

fn make_store(root: &Path) {
    let store = LocalStore::open(root).expect("store");
    for i in 0..BLOBS {
        let mut bytes = vec![0u8; SIZE];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let mut temp = store.create_temp().expect("temp");
        temp.file.write_all(&bytes).expect("write");
        let sha = hex::encode(Sha256::digest(&bytes));
        store.publish(&temp.path, &sha).expect("publish");
        store
            .put_pointer(&Pointer {
                key: format!("bench/blob/{i}"),
                status: 200,
                sha256: Some(sha),
                size: SIZE as u64,
                content_type: None,
                etag: None,
                last_modified: None,
                fetched_at_ms: now_ms(),
                verified: None,
            })
            .expect("pointer");
    }
}

fn policy(target: u64) -> Policy {
    Policy {
        target: Some(target),
        now_ms: now_ms(),
        grace_ms: 60_000,
        in_use: Default::default(),
    }
}

fn lifecycle(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    make_store(dir.path());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let mut group = c.benchmark_group("store_of_10k_blobs");
    group.sample_size(10);
    group.bench_function("verify", |b| {
        b.iter(|| {
            let report = verify::verify(dir.path(), false, threads, &|_| {}).expect("verify");
            assert_eq!(report.blobs, BLOBS);
        })
    });
    group.bench_function("gc_dry_run_half", |b| {
        b.iter(|| {
            let plan = evict::plan(dir.path(), &policy((BLOBS * SIZE / 2) as u64)).expect("plan");
            assert_eq!(plan.victims.len(), BLOBS / 2);
        })
    });
    group.bench_function("gc_half", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                make_store(dir.path());
                dir
            },
            |dir| {
                let plan =
                    evict::plan(dir.path(), &policy((BLOBS * SIZE / 2) as u64)).expect("plan");
                let removed = evict::apply(dir.path(), &plan).expect("apply");
                assert_eq!(removed.blobs, BLOBS / 2);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
