//! Group commit: concurrent writers in one process share durable commits.
//!
//! A caller queues its operation. If no batch is being led, it becomes the
//! leader: it begins one write transaction, runs every queued operation in
//! it, one after another and in arrival order, taking in operations that
//! arrive meanwhile, until the queue is empty; then it commits once, outside
//! the lock. The other callers sleep until their answer arrives, so a batch
//! of n operations costs the leader no thread switches, and each caller one
//! wake-up. Each operation sees the effects of those before it, so single
//! use holds inside a batch. A lone writer leads at once and commits its own
//! operation alone, exactly as without grouping.
//!
//! Invariants:
//! - `leading` is true from the moment a caller becomes leader until a
//!   leader finds the queue empty after its commit; while it is true, no
//!   other caller begins a transaction;
//! - no caller hears its answer before its batch's commit has returned: a
//!   member told `Ok` is durable;
//! - an operation that fails without writing fails alone; one that fails
//!   after writing (or panics) poisons its batch, which is rolled back, and
//!   every member gets `storage_error`;
//! - after its commit, a leader that finds operations queued passes the
//!   lead to the oldest of their callers before it answers its members, so
//!   the next batch runs while the answers go out.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Mutex, PoisonError};

use super::tx::{failed, RedbWrite};
use crate::error::{Error, Result};
use crate::store::{Output, WriteOp};

/// The queue of one store's writers; see the module documentation.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    leading: bool,
}

/// A queued operation and the way back to its caller.
struct Job {
    op: WriteOp,
    reply: mpsc::Sender<Reply>,
}

enum Reply {
    /// The operation's outcome, after its batch's commit.
    Done(Result<Output>),
    /// Lead the next batch (the caller's own operation is queued in it).
    Lead,
}

/// The most operations one batch takes; callers beyond wait for the next.
const MAX_BATCH: usize = 1024;

impl GroupCommit {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while the lock is held, so a poisoned queue is
        // still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `op` in a batch with whatever else is queued, in a transaction
    /// that `begin` starts, and answers once that batch has committed.
    pub(super) fn write(
        &self,
        op: WriteOp,
        begin: &dyn Fn() -> Result<RedbWrite>,
    ) -> Result<Output> {
        let (reply, answer) = mpsc::channel();
        let lead = {
            let mut q = self.queue();
            q.jobs.push(Job { op, reply });
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            self.lead_batch(begin);
        }
        loop {
            match answer.recv() {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead) => self.lead_batch(begin),
                Err(_) => return Err(Error::storage("group commit lost an operation")),
            }
        }
    }

    /// Runs one batch: every queued operation in one transaction, one
    /// commit, then the lead to the next caller and the answers out.
    fn lead_batch(&self, begin: &dyn Fn() -> Result<RedbWrite>) {
        let mut answers: Vec<(mpsc::Sender<Reply>, Result<Output>)> = Vec::new();
        let outcome = match begin() {
            Ok(mut tx) => {
                let mut poisoned = None;
                loop {
                    let jobs = {
                        let mut q = self.queue();
                        let room = MAX_BATCH.saturating_sub(answers.len()).min(q.jobs.len());
                        q.jobs.drain(..room).collect::<Vec<_>>()
                    };
                    if jobs.is_empty() {
                        break;
                    }
                    for mut job in jobs {
                        let before = tx.writes;
                        let result =
                            std::panic::catch_unwind(AssertUnwindSafe(|| (job.op)(&mut tx)))
                                .unwrap_or_else(|_| {
                                    // Its writes may be half made: count it as written.
                                    tx.writes += 1;
                                    Err(Error::storage("a write operation panicked"))
                                });
                        if result.is_err() && tx.writes != before && poisoned.is_none() {
                            poisoned = Some(Error::storage(
                                "an operation failed after writing; its batch was rolled back",
                            ));
                        }
                        answers.push((job.reply, result));
                    }
                }
                match poisoned {
                    Some(e) => Err(e),
                    None => tx.txn.commit().map_err(failed("commit", "the database")),
                }
            }
            Err(e) => {
                // No transaction: every queued operation fails with it.
                let jobs = std::mem::take(&mut self.queue().jobs);
                answers.extend(jobs.into_iter().map(|j| (j.reply, Err(e.clone()))));
                Err(e)
            }
        };
        {
            let mut q = self.queue();
            loop {
                let Some(next) = q.jobs.first() else {
                    q.leading = false;
                    break;
                };
                if next.reply.send(Reply::Lead).is_ok() {
                    break;
                }
                // Its caller is gone (it can only have panicked): nobody
                // awaits that operation.
                q.jobs.remove(0);
            }
        }
        for (reply, result) in answers {
            let answer = match &outcome {
                Ok(()) => result,
                Err(e) => result.and(Err(e.clone())),
            };
            // A caller gone before its answer needs none.
            let _ = reply.send(Reply::Done(answer));
        }
    }
}
