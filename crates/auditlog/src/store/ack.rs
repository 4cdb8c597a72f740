//! A one-shot acknowledgement: the handle an append returns, resolved by the writer thread once
//! the entry is durable. Usable both blocking ([`Ack::wait`]) and as a `Future` from any async
//! runtime, without tying the crate to one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::AppendError;

enum State<T> {
    Pending(Option<Waker>),
    Done(Result<T, AppendError>),
    Taken,
}

struct Slot<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the state half-written; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pending result of an append: the leaf index (or range) once the entry is durable.
#[must_use = "an append is only known durable once its Ack resolves"]
pub struct Ack<T> {
    slot: Arc<Slot<T>>,
}

/// The writer's side of an [`Ack`]. Dropping it unresolved resolves the ack with
/// [`AppendError::Closed`], so a waiter can never hang.
pub(crate) struct AckSender<T> {
    slot: Option<Arc<Slot<T>>>,
}

/// Creates a connected sender and ack.
pub(crate) fn channel<T>() -> (AckSender<T>, Ack<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Pending(None)),
        ready: Condvar::new(),
    });
    (
        AckSender {
            slot: Some(slot.clone()),
        },
        Ack { slot },
    )
}

impl<T> AckSender<T> {
    /// Resolves the ack.
    pub(crate) fn send(mut self, result: Result<T, AppendError>) {
        if let Some(slot) = self.slot.take() {
            resolve(&slot, result);
        }
    }
}

fn resolve<T>(slot: &Slot<T>, result: Result<T, AppendError>) {
    let waker = {
        let mut state = slot.lock();
        match std::mem::replace(&mut *state, State::Done(result)) {
            State::Pending(w) => w,
            // Already resolved: keep the first result.
            other => {
                *state = other;
                None
            }
        }
    };
    slot.ready.notify_all();
    if let Some(w) = waker {
        w.wake();
    }
}

impl<T> Drop for AckSender<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            resolve(&slot, Err(AppendError::Closed));
        }
    }
}

impl<T> Ack<T> {
    /// Blocks until the append is durable (or failed).
    pub fn wait(self) -> Result<T, AppendError> {
        let mut state = self.slot.lock();
        loop {
            match std::mem::replace(&mut *state, State::Taken) {
                State::Done(r) => return r,
                State::Taken => return Err(AppendError::Closed),
                pending @ State::Pending(_) => {
                    *state = pending;
                    state = self
                        .slot
                        .ready
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// Returns the result if it is already known, without blocking.
    pub fn try_get(&mut self) -> Option<Result<T, AppendError>> {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(r) => Some(r),
            State::Taken => Some(Err(AppendError::Closed)),
            pending @ State::Pending(_) => {
                *state = pending;
                None
            }
        }
    }
}

impl<T> Future for Ack<T> {
    type Output = Result<T, AppendError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(r) => Poll::Ready(r),
            State::Taken => Poll::Ready(Err(AppendError::Closed)),
            State::Pending(_) => {
                *state = State::Pending(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_sender_resolves_closed() {
        let (tx, ack) = channel::<u64>();
        drop(tx);
        assert_eq!(ack.wait(), Err(AppendError::Closed));
    }

    #[test]
    fn wait_across_threads() {
        let (tx, ack) = channel::<u64>();
        let t = std::thread::spawn(move || tx.send(Ok(7)));
        assert_eq!(ack.wait(), Ok(7));
        t.join().expect("sender thread");
    }
}
