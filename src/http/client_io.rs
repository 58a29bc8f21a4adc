//! A client connection's bytes on their way to and from hyper, unchanged: what it reads goes
//! past `super::pipelined`, which starts the fills of requests queued behind another; what it
//! writes is counted for the idle bound (`super::idle`: a connection still sending is not idle).

use super::idle::Activity;
use super::pipelined::{Heads, Prefetcher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A client connection as hyper sees it.
pub struct ClientIo<S> {
    inner: S,
    heads: Heads,
    prefetcher: Prefetcher,
    activity: Arc<Activity>,
}

impl<S> ClientIo<S> {
    pub fn new(inner: S, prefetcher: Prefetcher, activity: Arc<Activity>) -> ClientIo<S> {
        ClientIo {
            inner,
            heads: Heads::default(),
            prefetcher,
            activity,
        }
    }

    fn count(&self, written: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(bytes)) = &written {
            self.activity.wrote(*bytes);
        }
        written
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            if this.heads.reading() && buf.filled().len() > before {
                let prefetcher = &this.prefetcher;
                let read = &buf.filled()[before..];
                for head in this
                    .heads
                    .feed_wanted(read, prefetcher.head_limit, |index| {
                        prefetcher.queued(index)
                    })
                {
                    prefetcher.consider(head);
                }
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.count(written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.count(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
