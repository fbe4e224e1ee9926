//! Timer workloads, each the shape of a mode of bench/timer_child.ts:
//! a million sleeping tasks, a million bare timer entries, a million timers
//! set then cancelled. Deadlines spread evenly over 0–1 s.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Waker};
use std::time::Duration;
use tokio::time::{sleep, Sleep};

use crate::alloc;

/// What a timer workload reports: a check value and the heap it held.
pub struct Out {
    pub check: u64,
    /// Live heap bytes at the workload's fullest point, over the start's.
    pub heap: isize,
}

fn delay(i: u64, count: u64) -> Duration {
    Duration::from_millis(i * 1000 / count)
}

static FIRED: AtomicU64 = AtomicU64::new(0);

async fn sleeper(d: Duration) {
    sleep(d).await;
    FIRED.fetch_add(1, Relaxed);
}

/// A million tasks each sleep once; wait until every one has woken.
pub async fn sleep_tasks(count: u64) -> Out {
    let base = alloc::live();
    for i in 0..count {
        tokio::spawn(sleeper(delay(i, count)));
    }
    while FIRED.load(Relaxed) < count {
        sleep(Duration::from_millis(5)).await;
    }
    Out {
        check: FIRED.load(Relaxed),
        heap: alloc::peak() - base,
    }
}

/// `count` sleeps, each polled once so it sits in the timer wheel, without
/// a task each (what Dokio's "timer entries" mode holds).
fn registered(count: u64, extra: Duration) -> Vec<Pin<Box<Sleep>>> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut v = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut s = Box::pin(sleep(delay(i, count) + extra));
        let _ = s.as_mut().poll(&mut cx);
        v.push(s);
    }
    v
}

/// One task holds a million registered sleeps and awaits them in order.
pub async fn timer_entries(count: u64) -> Out {
    // Unconstrained: a sleep's first poll spends cooperative budget, and a
    // spent budget would leave it unregistered.
    tokio::task::unconstrained(async move {
        let base = alloc::live();
        let mut sleeps = registered(count, Duration::ZERO);
        let heap = alloc::live() - base;
        let mut fired = 0;
        for s in sleeps.iter_mut() {
            s.as_mut().await;
            fired += 1;
        }
        Out { check: fired, heap }
    })
    .await
}

/// A million timers registered, then all cancelled (dropped).
pub async fn timer_cancel(count: u64) -> Out {
    tokio::task::unconstrained(async move {
        let base = alloc::live();
        let sleeps = registered(count, Duration::from_secs(10));
        let heap = alloc::live() - base;
        let n = sleeps.len() as u64;
        drop(sleeps);
        Out { check: n, heap }
    })
    .await
}
