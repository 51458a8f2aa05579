use std::process::ExitCode;

use clap::Parser;

// Importing allocates and frees a lead's worth of small strings per row on every thread; mimalloc
// does that for much less than glibc's malloc (see the README's import figures).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `println!` into a closed pipe (`reach stats | head`) would panic.
    // Dying quietly of it is what every Unix filter does.
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = reach::cli::Cli::parse();
    let rt = match reach::jobs::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("reach: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = reach::cli::run(cli, rt.handle().clone());
    // Workers still blocked on a queue (a TUI's, say) must not hold the exit.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`reach lead list | head`) is not an error worth reporting.
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("reach: {e:#}");
            ExitCode::from(1)
        }
    }
}
