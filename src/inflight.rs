//! Single flight: one task does a piece of work (a fill, a set's refresh) for everyone who asks
//! for it meanwhile, and broadcasts its state to all of them.
//!
//! The task holds a [`Leader`]. If the task ends without [`Leader::finish`] (it panicked, or
//! its runtime was shut down), the guard's drop takes the work out of the map and marks its
//! state abandoned ([`Abandon`]), so that no later request joins work that will never end and
//! every follower is told at once. An entry is removed only by the leader that put it there:
//! a new leader for the same key is never disturbed by an old one's end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// How a state records that its task went away without a final word.
pub trait Abandon {
    fn abandon(&mut self);
}

struct Entry<S> {
    leader: u64,
    rx: watch::Receiver<S>,
}

type Entries<S> = Arc<Mutex<HashMap<String, Entry<S>>>>;

/// The work in flight, by key.
pub struct InFlight<S> {
    entries: Entries<S>,
    next_leader: AtomicU64,
}

impl<S> Default for InFlight<S> {
    fn default() -> Self {
        InFlight {
            entries: Arc::default(),
            next_leader: AtomicU64::new(0),
        }
    }
}

impl<S: Abandon> InFlight<S> {
    /// Joins the work for `key`, or starts it: `lead` gets the [`Leader`] and must hand it to
    /// the task that does the work. Returns the receiver of the work's state.
    pub fn join_or_lead(
        &self,
        key: &str,
        initial: impl FnOnce() -> S,
        lead: impl FnOnce(Leader<S>),
    ) -> watch::Receiver<S> {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(key) {
            return entry.rx.clone();
        }
        let (tx, rx) = watch::channel(initial());
        let id = self.next_leader.fetch_add(1, Ordering::Relaxed);
        entries.insert(
            key.to_string(),
            Entry {
                leader: id,
                rx: rx.clone(),
            },
        );
        drop(entries);
        lead(Leader {
            tx,
            key: key.to_string(),
            id,
            entries: self.entries.clone(),
            finished: false,
        });
        rx
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sending side of one piece of work; see the module documentation.
pub struct Leader<S: Abandon> {
    tx: watch::Sender<S>,
    key: String,
    id: u64,
    entries: Entries<S>,
    finished: bool,
}

impl<S: Abandon> Leader<S> {
    pub fn sender(&self) -> &watch::Sender<S> {
        &self.tx
    }

    /// Leaves the map, then lets `last` send the final state: a request arriving from now on
    /// starts afresh (and finds the store) rather than joining finished work.
    pub fn finish(mut self, last: impl FnOnce(&watch::Sender<S>)) {
        self.leave();
        last(&self.tx);
        self.finished = true;
    }

    fn leave(&self) {
        let mut entries = lock(&self.entries);
        if entries.get(&self.key).is_some_and(|e| e.leader == self.id) {
            entries.remove(&self.key);
        }
    }
}

impl<S: Abandon> Drop for Leader<S> {
    fn drop(&mut self) {
        if !self.finished {
            self.leave();
            self.tx.send_modify(S::abandon);
            tracing::error!(key = %self.key, "in-flight work ended without a result (its task panicked or was cancelled); its clients were told");
        }
    }
}

fn lock<S>(entries: &Entries<S>) -> MutexGuard<'_, HashMap<String, Entry<S>>> {
    entries.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    enum State {
        Running,
        Done,
        Abandoned,
    }

    impl Abandon for State {
        fn abandon(&mut self) {
            *self = State::Abandoned;
        }
    }

    #[test]
    fn followers_share_the_leaders_work_and_its_end() {
        let flights = InFlight::<State>::default();
        let mut leader = None;
        let rx = flights.join_or_lead("k", || State::Running, |l| leader = Some(l));
        let follower = flights.join_or_lead("k", || State::Running, |_| panic!("a second leader"));
        assert_eq!(flights.len(), 1);
        leader.expect("led").finish(|tx| {
            tx.send_replace(State::Done);
        });
        assert!(flights.is_empty());
        assert_eq!(*rx.borrow(), State::Done);
        assert_eq!(*follower.borrow(), State::Done);
    }

    #[test]
    fn a_leader_dropped_without_finishing_frees_the_key_and_tells_its_followers() {
        let flights = InFlight::<State>::default();
        let mut leader = None;
        let rx = flights.join_or_lead("k", || State::Running, |l| leader = Some(l));
        drop(leader);
        assert!(flights.is_empty(), "the key is free for a new leader");
        assert_eq!(*rx.borrow(), State::Abandoned);
        let mut led_again = false;
        flights.join_or_lead("k", || State::Running, |_| led_again = true);
        assert!(led_again);
    }

    #[test]
    fn an_old_leader_never_removes_a_newer_one() {
        let flights = InFlight::<State>::default();
        let mut old = None;
        flights.join_or_lead("k", || State::Running, |l| old = Some(l));
        let old = old.expect("led");
        // The old leader's entry is replaced (as if it had finished and a new one started).
        old.leave();
        let mut new = None;
        flights.join_or_lead("k", || State::Running, |l| new = Some(l));
        drop(old);
        assert_eq!(flights.len(), 1, "the new leader's entry stays");
        drop(new);
    }

    #[tokio::test]
    async fn a_panicking_task_abandons_its_work() {
        let flights = InFlight::<State>::default();
        let mut rx = flights.join_or_lead(
            "k",
            || State::Running,
            |leader| {
                tokio::spawn(async move {
                    let _leader = leader;
                    panic!("a bug in the task");
                });
            },
        );
        let state = rx
            .wait_for(|s| *s != State::Running)
            .await
            .map(|s| s.clone());
        assert_eq!(state.ok(), Some(State::Abandoned));
        assert!(flights.is_empty());
    }
}
