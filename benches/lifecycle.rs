//! How long `larder verify` and `larder gc` take on a store of 10,000 blobs (16 KiB each, one
//! pointer each): the same functions the commands run, without their printing.
//! Run: `cargo bench --bench lifecycle`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use larder::store::evict::{self, Policy};
use larder::store::{now_ms, scan, verify, LocalStore, Pointer};
use sha2::{Digest as _, Sha256};
use std::path::Path;

const BLOBS: usize = 10_000;
const SIZE: usize = 16 * 1024;

/// Writes the layout directly (as a long-running larder would have left it), without the
/// fsyncs of a real fill, so that a fresh store per gc iteration takes a second, not a minute.
fn make_store(root: &Path) {
    LocalStore::open(root).expect("store");
    for i in 0..BLOBS {
        let mut bytes = vec![0u8; SIZE];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let sha = hex::encode(Sha256::digest(&bytes));
        let path = scan::blob_path(root, &sha).expect("a sha256");
        std::fs::create_dir_all(path.parent().expect("a shard")).expect("shard");
        std::fs::write(&path, &bytes).expect("blob");
        let key = format!("bench/blob/{i}");
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        let pointer = Pointer {
            key,
            status: 200,
            sha256: Some(sha),
            size: SIZE as u64,
            content_type: None,
            etag: None,
            last_modified: None,
            fetched_at_ms: now_ms(),
            verified: None,
        };
        let dir = root.join("pointers").join(&name[..2]);
        std::fs::create_dir_all(&dir).expect("shard");
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_vec(&pointer).expect("json"),
        )
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
