//! Password hashing on a few threads of its own, never more at once than the machine has
//! cores.
//!
//! One argon2id check takes 19 MiB and tens of milliseconds of a core. Run on the shared
//! blocking pool, a flood of sign-ins for unknown emails once ran dozens at a time: memory
//! grew by gigabytes and stayed (the allocator keeps what each thread used), and listing
//! checks waited behind the hashes for the same threads. Here a semaphore admits as many
//! hashes as there are hashing threads; a request that cannot get a turn within a short
//! wait is answered 503 with `Retry-After` instead of queueing without bound. The threads
//! run at the lowest scheduling priority, so when hashing and the listing gate want the
//! same core, the gate goes first. `serve` starts one pool (in `AppState`); everything
//! that hashes takes it as a parameter.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a hash was not computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashingError {
    /// Every hashing thread stayed busy for the whole wait.
    #[error("too many passwords are being checked right now; retry in a second")]
    Busy,
    /// The hashing threads are gone (the service is shutting down).
    #[error("password hashing has stopped")]
    Stopped,
}

/// The hashing threads and the turns they hand out.
pub struct HashingPool {
    turns: Arc<Semaphore>,
    jobs: Mutex<Sender<Job>>,
    wait: Duration,
    threads: usize,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HashingPool({} threads, wait {:?})",
            self.threads, self.wait
        )
    }
}

impl HashingPool {
    /// Starts `threads` hashing threads (0: one per two cores, at least one). A request
    /// waits at most `wait` for its turn.
    ///
    /// Half the cores by default: on two cores, a second hashing thread added no hashes per
    /// second under a flood (the database writes around each check bound it) and took
    /// listing checks' p99 from 24 ms to 39 ms (docs/PERFORMANCE.md).
    pub fn start(threads: u32, wait: Duration) -> std::io::Result<Self> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| (usize::from(n) / 2).max(1)),
            n => n as usize,
        };
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("tracegate-hash-{i}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(Self {
            turns: Arc::new(Semaphore::new(threads)),
            jobs: Mutex::new(sender),
            wait,
            threads,
        })
    }

    /// How many hashes may run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Waits (at most the pool's wait) for a turn to hash; the turn is held until the hash
    /// it runs is done, so a caller may take its turn first and do cheap work before.
    pub async fn turn(&self) -> Result<Turn<'_>, HashingError> {
        match tokio::time::timeout(self.wait, Arc::clone(&self.turns).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn { pool: self, permit }),
            Ok(Err(_)) => Err(HashingError::Stopped),
            Err(_) => Err(HashingError::Busy),
        }
    }

    fn submit(&self, job: Job) -> Result<(), HashingError> {
        self.jobs
            .lock()
            .map_err(|_| HashingError::Stopped)?
            .send(job)
            .map_err(|_| HashingError::Stopped)
    }

    /// Runs `f` (a hash or a check) on a hashing thread once a turn is free.
    pub async fn run<T, F>(&self, f: F) -> Result<T, HashingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.turn().await?.run(f).await
    }

    /// [`Self::run`] for code already on a blocking thread (registration, password change):
    /// it waits there for its turn and the answer.
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, HashingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let deadline = std::time::Instant::now() + self.wait;
        let permit = loop {
            match Arc::clone(&self.turns).try_acquire_owned() {
                Ok(permit) => break permit,
                Err(TryAcquireError::Closed) => return Err(HashingError::Stopped),
                Err(TryAcquireError::NoPermits) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryAcquireError::NoPermits) => return Err(HashingError::Busy),
            }
        };
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.submit(Box::new(move || {
            let _ = reply.send(f());
            drop(permit);
        }))?;
        answer.recv().map_err(|_| HashingError::Stopped)
    }
}

/// A turn to hash, taken from a [`HashingPool`].
pub struct Turn<'a> {
    pool: &'a HashingPool,
    permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Turn")
    }
}

impl Turn<'_> {
    /// Runs `f` on a hashing thread and gives the turn back when it is done.
    pub async fn run<T, F>(self, f: F) -> Result<T, HashingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.permit;
        let (reply, answer) = oneshot::channel();
        self.pool.submit(Box::new(move || {
            let _ = reply.send(f());
            // The turn is given back only once the hash is done.
            drop(permit);
        }))?;
        answer.await.map_err(|_| HashingError::Stopped)
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Gives this thread the lowest CPU priority (nice 19; on Linux the nice value is per
/// thread), so hashing takes only the CPU time the rest of the service leaves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn lower_priority() {
    // SAFETY: plain system calls on this thread's own id; no memory is shared.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19)
    };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not lower the priority of a hashing thread"
        );
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_run_at_once_than_there_are_threads_and_the_rest_are_refused() {
        let pool = Arc::new(HashingPool::start(2, Duration::from_millis(50)).expect("threads"));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut busy = 0;
        for task in tasks {
            if task.await.expect("task") == Err(HashingError::Busy) {
                busy += 1;
            }
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        assert_eq!(busy, 6, "two ran, six waited 50 ms and were refused");
    }
}
