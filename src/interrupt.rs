//! Ctrl-C and SIGTERM: one watcher thread (installed first thing by
//! `main_entry`) turns either signal into a flag that the long-running
//! work observes. While a cooperative section runs (`ops::session::stoppable`,
//! which also covers the local purge's walk), the work stops itself and
//! reports what it had done; outside one, the watcher says "interrupted"
//! and exits 130 at once (nothing else is in flight worth reporting). A
//! second signal always exits at once.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

/// The exit status of an interrupted run (128 + SIGINT, as shells do).
pub const EXIT_CODE: i32 = 130;

/// The one line said on stderr when a run is interrupted.
pub const MESSAGE: &str = "interrupted (Ctrl-C or SIGTERM): stopped before the end";

/// Set once a signal arrived; `watch` so that async work can await it.
static REQUESTED: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::Sender::new(false));

/// How many cooperative sections are running.
static COOPERATING: AtomicUsize = AtomicUsize::new(0);

/// True once Ctrl-C or SIGTERM arrived.
pub fn requested() -> bool {
    *REQUESTED.borrow()
}

/// Completes when Ctrl-C or SIGTERM arrives (at once if it already has),
/// once no uncut section runs: the work such a section does is finished
/// and recorded first (the work checks `requested()` right after it).
pub async fn wait() {
    let mut rx = REQUESTED.subscribe();
    // The senders live in statics: the channels never close.
    let _ = rx.wait_for(|set| *set).await;
    let mut uncut = UNCUT.subscribe();
    let _ = uncut.wait_for(|running| *running == 0).await;
}

/// How many uncut sections run (see `uncut`).
static UNCUT: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));

/// A short step a first signal must not cut in the middle: a database
/// batch whose COMMIT may already be on its way, which the server then
/// commits whether or not the tool waits for the answer. Cut there, the
/// run would report fewer deletions than it made; held, the step ends
/// (within its own time limit), is counted, and the work stops after it.
/// A second signal still exits at once.
#[derive(Debug)]
pub struct Uncut(());

/// Enters an uncut section (left when the value is dropped).
pub fn uncut() -> Uncut {
    UNCUT.send_modify(|running| *running += 1);
    Uncut(())
}

impl Drop for Uncut {
    fn drop(&mut self) {
        UNCUT.send_modify(|running| *running = running.saturating_sub(1));
    }
}

/// A section whose work watches `requested()` and reports what it did;
/// while one is held, a first signal does not end the process.
#[derive(Debug)]
pub struct Cooperating(());

/// Enters a cooperative section (left when the value is dropped).
pub fn cooperate() -> Cooperating {
    COOPERATING.fetch_add(1, Ordering::SeqCst);
    Cooperating(())
}

impl Drop for Cooperating {
    fn drop(&mut self) {
        COOPERATING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many prompts are waiting for an answer (nothing changed yet).
static PROMPTING: AtomicUsize = AtomicUsize::new(0);

/// A prompt waiting on stdin: a signal ends the run at once, since the
/// blocked read would not notice the flag.
#[derive(Debug)]
pub struct Prompting(());

/// Marks a prompt (until the value is dropped).
pub fn at_prompt() -> Prompting {
    PROMPTING.fetch_add(1, Ordering::SeqCst);
    Prompting(())
}

impl Drop for Prompting {
    fn drop(&mut self) {
        PROMPTING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Says the run was interrupted (one line on stderr) and exits 130.
pub fn exit_now() -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "error: {MESSAGE}");
    std::process::exit(EXIT_CODE)
}

/// Starts the watcher thread; returns once the handlers are in place (a
/// signal before that has the default effect). Without handlers (no
/// runtime, no thread), signals keep their default effect: not fatal.
pub fn install() {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || watch_signals(ready_tx));
    if spawned.is_ok() {
        let _ = ready_rx.recv();
    }
}

fn watch_signals(ready: std::sync::mpsc::Sender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let _ = ready.send(());
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            // Read before the flag is raised: once it is, the work may stop,
            // leave its section and start printing what it did, and an exit
            // decided after that would cut its output short.
            let cooperating = COOPERATING.load(Ordering::SeqCst) > 0;
            let again = REQUESTED.send_replace(true);
            if again || !cooperating || PROMPTING.load(Ordering::SeqCst) > 0 {
                exit_now();
            }
        }
    });
}
