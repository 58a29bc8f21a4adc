//! A pass-through body checked as a fill's is: hashed as it streams, its last chunk held back
//! until the bytes match the digest published for them, so a full disk never lets a tampered
//! or truncated download through complete-looking.

use super::sink::Hashers;
use crate::body::ByteStream;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{stream, StreamExt};
use larder_adapter::Digest;
use std::io;

/// `inner`, checked against the digest `expected` resolves to (`None`: nothing published to
/// check against, served as it came, as a fill would be).
pub fn checked(
    inner: ByteStream,
    expected: BoxFuture<'static, Option<Digest>>,
    key: String,
) -> ByteStream {
    let state = Some(Checking {
        inner,
        expected,
        hashers: Hashers::every(),
        held: None,
        key,
    });
    stream::try_unfold(state, |state| async move {
        let Some(mut checking) = state else {
            return Ok(None);
        };
        loop {
            match checking.inner.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    checking.hashers.update(&chunk);
                    if let Some(previous) = checking.held.replace(chunk) {
                        return Ok(Some((previous, Some(checking))));
                    }
                }
                None => {
                    let last = checking.finish().await?;
                    return Ok(last.map(|last| (last, None)));
                }
            }
        }
    })
    .boxed()
}

struct Checking {
    inner: ByteStream,
    expected: BoxFuture<'static, Option<Digest>>,
    hashers: Hashers,
    held: Option<Bytes>,
    key: String,
}

impl Checking {
    /// The held last chunk, once the whole body matched its digest.
    async fn finish(self) -> io::Result<Option<Bytes>> {
        let Some(expected) = self.expected.await else {
            return Ok(self.held);
        };
        let (sha256, others) = self.hashers.finish();
        let matches = match expected.algorithm {
            larder_adapter::Algorithm::Sha256 => expected.bytes == sha256,
            algorithm => others
                .iter()
                .any(|(other, bytes)| *other == algorithm && *bytes == expected.bytes),
        };
        if matches {
            return Ok(self.held);
        }
        tracing::warn!(key = %self.key, %expected, "a pass-through download does not match its published digest; cut off");
        Err(io::Error::other(format!(
            "the download does not match its published digest {expected}; it was cut off"
        )))
    }
}
