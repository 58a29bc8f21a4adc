//! Conditional pointer writes: two replicas refreshing the same metadata, their writes forced
//! to interleave, converge to the newest record. Against moto, through larder's own bucket
//! client (`larder::store::bucket`), with the interleaving placed between each writer's read
//! and its write.

use crate::moto::{runtime, Moto};
use larder::store::bucket::PointerWrite;
use larder::store::Pointer;

fn pointer(at: u64, sha: char) -> Pointer {
    Pointer {
        key: "go/example.com/m/@v/list".into(),
        status: 200,
        sha256: Some(sha.to_string().repeat(64)),
        size: 7,
        content_type: None,
        etag: None,
        last_modified: None,
        fetched_at_ms: at,
        verified: None,
    }
}

#[test]
fn an_older_record_written_after_a_newer_one_never_lands_on_top() {
    let moto = Moto::start();
    let (a, b) = (moto.bucket(), moto.bucket());
    runtime().block_on(async {
        a.put_pointer(&pointer(1_000, 'a')).await.unwrap();
        // A (older, fetched at 2 000) reads the record at 1 000; before its write lands, B
        // (newer, 3 000) reads and writes; then A writes.
        let older = pointer(2_000, 'b');
        let newer = pointer(3_000, 'c');
        let mut b_done = false;
        let written = a
            .put_pointer_with(&older, || {
                let first = !b_done;
                b_done = true;
                let (b, newer) = (&b, newer.clone());
                async move {
                    if first {
                        assert_eq!(b.put_pointer(&newer).await.unwrap(), PointerWrite::Written);
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(written, PointerWrite::KeptNewer);
        let stored = b.get_pointer(&newer.key).await.unwrap().unwrap();
        assert_eq!(stored.fetched_at_ms, 3_000);
        assert_eq!(stored, newer);

        // The other way round: the newer writer loses the race to the older one and still
        // ends on top.
        let older = pointer(4_000, 'd');
        let newer = pointer(5_000, 'e');
        let mut a_done = false;
        let written = b
            .put_pointer_with(&newer, || {
                let first = !a_done;
                a_done = true;
                let (a, older) = (&a, older.clone());
                async move {
                    if first {
                        a.put_pointer(&older).await.unwrap();
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(written, PointerWrite::Written);
        assert_eq!(
            a.get_pointer(&newer.key)
                .await
                .unwrap()
                .unwrap()
                .fetched_at_ms,
            5_000
        );
    });
}

#[test]
fn two_writers_creating_the_same_record_at_once_converge_to_the_newest() {
    let moto = Moto::start();
    let (a, b) = (moto.bucket(), moto.bucket());
    runtime().block_on(async {
        // Both read "no record", then both create: If-None-Match: * lets only one through.
        let older = pointer(1_000, 'a');
        let newer = pointer(2_000, 'b');
        let mut b_done = false;
        a.put_pointer_with(&older, || {
            let first = !b_done;
            b_done = true;
            let (b, newer) = (&b, newer.clone());
            async move {
                if first {
                    b.put_pointer(&newer).await.unwrap();
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(
            a.get_pointer(&older.key)
                .await
                .unwrap()
                .unwrap()
                .fetched_at_ms,
            2_000
        );
    });
}
