//! `reach serve`: the team server. Logs go to `serve.log` in the data dir; stdout gets the few
//! lines an operator needs (address, host key fingerprint, keys file, log).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Context;
use crate::serve::{Limits, Options, Served};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:2222", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Who may connect: authorized_keys lines, each with environment="REACH_USER=name"
    /// [default: DATA_DIR/authorized_keys]
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// The server's SSH host key, made on first start [default: DATA_DIR/ssh_host_ed25519_key]
    #[arg(long, value_name = "FILE")]
    pub host_key: Option<PathBuf>,
    /// The most sessions open at once
    #[arg(long, default_value_t = Limits::default().max_sessions, value_name = "N")]
    pub max_sessions: usize,
    /// The most sessions one user may have open at once
    #[arg(long, default_value_t = Limits::default().max_per_user, value_name = "N")]
    pub max_sessions_per_user: usize,
    /// End a session after this many minutes without a keystroke
    #[arg(long, default_value_t = Limits::default().idle.as_secs() / 60, value_name = "MIN")]
    pub idle_minutes: u64,
    /// Seconds a connection has to log in
    #[arg(long, default_value_t = Limits::default().login_grace.as_secs(), value_name = "SECS")]
    pub login_grace: u64,
    /// Don't run the Telegram accounts in this process (when a `reach listen` runs them)
    #[arg(long)]
    pub no_accounts: bool,
}

const KEYS_TEMPLATE: &str = "\
# Who may use `reach serve`: one public key per line, in OpenSSH authorized_keys syntax, each
# naming the reach user it logs in as. Read afresh at every login: no restart to add or revoke.
#
# environment=\"REACH_USER=mia\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… mia@laptop
";

pub fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    // Made private before the store opens, and the umask keeps every later file private.
    crate::serve::lock_down(&ctx.data_dir).map_err(|e| anyhow::anyhow!("data dir {}: {e}", ctx.data_dir.display()))?;
    let log_path = ctx.data_dir.join("serve.log");
    let appender = tracing_appender::rolling::never(&ctx.data_dir, "serve.log");
    let (writer, _flush_on_exit) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_target(false).try_init();

    let store = ctx.open_store()?;
    let keys_file = args.keys.clone().unwrap_or_else(|| ctx.data_dir.join("authorized_keys"));
    if !keys_file.exists() {
        crate::serve::create_private(&keys_file, KEYS_TEMPLATE.as_bytes())
            .map_err(|e| anyhow::anyhow!("keys file {}: {e}", keys_file.display()))?;
    }
    let keys = crate::serve::KeysFile::read(&keys_file)
        .map_err(|e| anyhow::anyhow!("keys file {}: {e}", keys_file.display()))?;
    let opts = Options {
        listen: args.listen.clone(),
        keys_file: keys_file.clone(),
        host_key: args.host_key.clone().unwrap_or_else(|| ctx.data_dir.join("ssh_host_ed25519_key")),
        limits: Limits {
            max_sessions: args.max_sessions.max(1),
            max_per_user: args.max_sessions_per_user.max(1),
            idle: Duration::from_secs(args.idle_minutes.max(1) * 60),
            login_grace: Duration::from_secs(args.login_grace.max(1)),
            ..Limits::default()
        },
    };
    let served = Served {
        store: store.clone(),
        keys: crate::tui::keymap::Keymap::new(&ctx.config.keys).map_err(anyhow::Error::msg)?,
        // A teammate is not the server's user: no import from or export to its files.
        settings: crate::tui::Settings { local_files: false, ..super::tui_settings(ctx, false) },
        read_receipts: ctx.config.telegram.send_read_receipts,
    };
    let server = ctx.rt.block_on(crate::serve::start(served, opts, ctx.rt.clone()))?;
    let users: std::collections::BTreeSet<&str> = keys.entries.iter().map(|e| e.user.as_str()).collect();
    println!("reach serve: listening on {}", server.addr);
    println!("host key:    {} (ssh-ed25519)", server.fingerprint);
    println!(
        "keys:        {} ({} keys for {} users{})",
        keys_file.display(),
        keys.entries.len(),
        users.len(),
        if keys.skipped.is_empty() {
            String::new()
        } else {
            format!("; {} lines ignored, see the log", keys.skipped.len())
        }
    );
    if keys.entries.is_empty() {
        println!("             nobody can log in yet: add a line per teammate, as the file's header shows");
    }
    println!("log:         {}", log_path.display());
    println!("connect:     ssh -p {} {}   (Ctrl-C stops the server)", server.addr.port(), server.addr.ip());

    // The server is the one process that runs the accounts, as `reach listen` would.
    let (stop_accounts, accounts_stopped) = tokio::sync::watch::channel(false);
    let runners = if args.no_accounts {
        None
    } else {
        let (events, mut log) = tokio::sync::mpsc::unbounded_channel();
        let listener = crate::talk::listen::Listener {
            store: store.clone(),
            telegram: ctx.telegram(),
            which: crate::talk::listen::Which::All,
            cfg: crate::talk::RunnerConfig::from_config(&ctx.config, "serve"),
            events,
        };
        ctx.rt.spawn(async move {
            while let Some(e) = log.recv().await {
                match &e {
                    // Message text stays out of the server's log.
                    crate::talk::RunnerEvent::Heard { account, lead, out, .. } => {
                        tracing::info!(%account, lead = ?lead, outgoing = out, "message heard")
                    }
                    _ => tracing::info!("{e}"),
                }
            }
        });
        Some(ctx.rt.spawn(listener.run(accounts_stopped)))
    };

    let why = ctx.rt.block_on(stop_signal());
    tracing::info!("stopping: {why}");
    eprintln!("\nreach serve: {why}; ending {} sessions…", server.sessions());
    ctx.rt.block_on(server.shutdown("the server is shutting down", Duration::from_secs(5)));
    let _ = stop_accounts.send(true);
    if let Some(r) = runners {
        let _ = ctx.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), r).await });
    }
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (systemd's stop).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return "interrupted",
                _ = term.recv() => return "terminated",
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "interrupted"
}
