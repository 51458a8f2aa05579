//! `reach serve`: the TUI over SSH for a whole team, from one process and one store.
//!
//! - `keys`: the keys file, public key to reach user; `hostkey`: the server's own key;
//! - `limits`: session caps and per-IP rates; `input`: channel bytes into key events;
//! - `term`: the backend that draws into a channel; `session`: one channel's TUI;
//! - this file: the accept loop and the SSH handler, which decides who a connection is.
//!
//! Identity is decided in one place, `auth_publickey`, which russh calls only after it verified
//! the signature; the key offered before that never sets anything (see `Conn`).
//!
//! Live updates: every session follows the store's change feed through its own `tui::Session`,
//! under its own user's scope, exactly as a local TUI does; the store runs one feed follower per
//! process, fanned out to every session.

mod hostkey;
mod input;
mod keys;
pub mod limits;
mod session;
mod term;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::server::{Auth, Msg, PublicKeyOffer, Session as SshSession, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::sync::watch;

pub use hostkey::{create_private, load_or_create as host_key};
pub use keys::{fingerprint, KeysFile};
pub use limits::Limits;
use limits::{Gate, Place};
use session::{Input, Live, Setup, Who};

/// What `reach serve` needs besides the network: the store and how each session's TUI is set up.
pub struct Served {
    pub store: crate::store::Store,
    pub keys: crate::tui::keymap::Keymap,
    pub settings: crate::tui::Settings,
    pub read_receipts: bool,
}

pub struct Options {
    pub listen: String,
    pub keys_file: PathBuf,
    pub host_key: PathBuf,
    pub limits: Limits,
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    /// The host key's SHA-256 fingerprint, as `ssh` shows it.
    pub fingerprint: String,
    stop: watch::Sender<Option<String>>,
    gate: Gate,
    accept: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.gate.sessions()
    }

    /// Ends every session with `why` on its screen, stops accepting, and waits (at most `grace`)
    /// for the sessions to say goodbye.
    pub async fn shutdown(self, why: &str, grace: Duration) {
        let _ = self.stop.send(Some(why.to_string()));
        self.accept.abort();
        let deadline = tokio::time::Instant::now() + grace;
        while self.gate.sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The goodbye frames are queued; give the writers a moment to put them on the wire.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Shared {
    setup: Setup,
    gate: Gate,
    keys_file: PathBuf,
    /// The keys file's last content, so its bad lines are logged once per change, not per login.
    keys_seen: Mutex<u64>,
    next_conn: AtomicU64,
}

impl Shared {
    /// The keys file as it is now. A file that cannot be read grants nothing.
    fn keys(&self) -> KeysFile {
        let text = match std::fs::read_to_string(&self.keys_file) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(file = %self.keys_file.display(), "the keys file cannot be read: {e}; every key is refused");
                return KeysFile::default();
            }
        };
        let file = KeysFile::parse(&text);
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            h.finish()
        };
        let mut seen = self.keys_seen.lock().unwrap_or_else(|p| p.into_inner());
        if *seen != hash {
            *seen = hash;
            for s in &file.skipped {
                tracing::warn!(file = %self.keys_file.display(), line = s.line, "keys file line ignored: {}", s.why);
            }
            tracing::info!(file = %self.keys_file.display(), keys = file.entries.len(), "keys file read");
        }
        file
    }
}

/// Binds, and serves until `Server::shutdown`.
pub async fn start(served: Served, opts: Options, rt: tokio::runtime::Handle) -> anyhow::Result<Server> {
    let (key, created) = hostkey::load_or_create(&opts.host_key)?;
    let fingerprint = key.public_key().fingerprint(russh::keys::HashAlg::Sha256).to_string();
    if created {
        tracing::info!(file = %opts.host_key.display(), %fingerprint, "host key created");
    }
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr()?;
    let config = Arc::new(russh::server::Config {
        methods: publickey_only(),
        auth_rejection_time: Duration::from_millis(500),
        // OpenSSH asks with "none" first to learn the methods: no need to make that wait.
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        // Our own idle timer counts keystrokes; keepalives find clients that vanished.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        max_auth_attempts: 6,
        nodelay: true,
        ..Default::default()
    });
    let (stop, shutdown) = watch::channel(None);
    let gate = Gate::new(opts.limits);
    let shared = Arc::new(Shared {
        setup: Setup {
            store: served.store,
            rt: rt.clone(),
            keys: served.keys,
            settings: served.settings,
            read_receipts: served.read_receipts,
            limits: gate.limits(),
            shutdown,
        },
        gate: gate.clone(),
        keys_file: opts.keys_file,
        keys_seen: Mutex::new(0),
        next_conn: AtomicU64::new(1),
    });
    tracing::info!(%addr, host_key = %fingerprint, "listening");
    let accept = rt.spawn(accept_loop(listener, config, shared));
    Ok(Server { addr, fingerprint, stop, gate, accept })
}

async fn accept_loop(listener: tokio::net::TcpListener, config: Arc<russh::server::Config>, shared: Arc<Shared>) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        if !shared.gate.connect(peer.ip(), std::time::Instant::now()) {
            tracing::warn!(conn = id, %peer, "refused: too many connections or failed logins from this address");
            drop(socket);
            continue;
        }
        let Some(startup) = shared.gate.start_login(peer.ip()) else {
            tracing::warn!(conn = id, %peer, "refused: too many connections logging in, from this address or in all");
            drop(socket);
            continue;
        };
        // A second handle on the socket, to cut it whatever russh is doing (it does not act on a
        // disconnect before the key exchange ends).
        let (socket, cut) = match split_socket(socket) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(conn = id, %peer, "refused: {e}");
                continue;
            }
        };
        tracing::info!(conn = id, %peer, "connected");
        let (authed, started) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let over = Arc::new(tokio::sync::Notify::new());
        let conn = Conn {
            shared: Arc::clone(&shared),
            id,
            peer,
            authed: Arc::clone(&authed),
            started: Arc::clone(&started),
            over: Arc::clone(&over),
            startup: Some(startup),
            offered_unknown: false,
            user: None,
            pty: None,
            channel: None,
            live: None,
        };
        let (config, grace, mut shutdown) =
            (Arc::clone(&config), shared.setup.limits.login_grace, shared.setup.shutdown.clone());
        tokio::spawn(async move {
            let grace_timer = tokio::time::sleep(grace);
            // The grace time counts from the connection, the version exchange included.
            let running = match tokio::time::timeout(grace, russh::server::run_stream(config, socket, conn)).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::info!(conn = id, %peer, "handshake failed: {e:#}");
                    return;
                }
                Err(_) => {
                    tracing::warn!(conn = id, %peer, "refused: no handshake within {} s", grace.as_secs());
                    return;
                }
            };
            tokio::pin!(running, grace_timer);
            let mut timing_login = true;
            let mut watching_stop = true;
            loop {
                tokio::select! {
                    done = &mut running => {
                        if let Err(e) = done {
                            tracing::info!(conn = id, "connection ended: {e:#}");
                        }
                        return;
                    }
                    _ = &mut grace_timer, if timing_login => {
                        timing_login = false;
                        if !authed.load(Ordering::SeqCst) {
                            tracing::warn!(conn = id, %peer, "refused: no login within {} s", grace.as_secs());
                            let _ = cut.shutdown(std::net::Shutdown::Both);
                        } else if !started.load(Ordering::SeqCst) {
                            tracing::warn!(conn = id, %peer, "closed: logged in but asked for no TUI within {} s", grace.as_secs());
                            let _ = cut.shutdown(std::net::Shutdown::Both);
                        }
                    }
                    // One TUI per connection: with it over, the connection goes too, once the client
                    // had a moment to close it itself (one that reads nothing never would).
                    _ = over.notified() => {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        let _ = cut.shutdown(std::net::Shutdown::Both);
                    }
                    // A connection still logging in when the server stops is cut; sessions say goodbye
                    // themselves. (Whether it logged in is read here, not in a branch condition, which
                    // select! evaluates once, before the login.)
                    _ = shutdown.changed(), if watching_stop => {
                        watching_stop = false;
                        if !started.load(Ordering::SeqCst) {
                            let _ = cut.shutdown(std::net::Shutdown::Both);
                        }
                    }
                }
            }
        });
    }
}

/// The socket for russh, and a handle on the same socket to shut it down with.
fn split_socket(socket: tokio::net::TcpStream) -> std::io::Result<(tokio::net::TcpStream, std::net::TcpStream)> {
    let std = socket.into_std()?;
    let cut = std.try_clone()?;
    Ok((tokio::net::TcpStream::from_std(std)?, cut))
}

/// One connection. `user` is set in `auth_publickey` only, after russh verified the signature:
/// a key merely offered (`auth_publickey_offered`) decides nothing, and the SSH user name is
/// never looked at.
struct Conn {
    shared: Arc<Shared>,
    id: u64,
    peer: SocketAddr,
    authed: Arc<AtomicBool>,
    /// A TUI session was started: the connection is no longer timed by the login grace.
    started: Arc<AtomicBool>,
    /// Told when its session is over: the connection task then cuts the connection.
    over: Arc<tokio::sync::Notify>,
    /// Counts this connection among those logging in, until it has logged in.
    startup: Option<limits::LoggingIn>,
    /// An unknown key was offered: if this connection never logs in, that is one failed login.
    offered_unknown: bool,
    user: Option<String>,
    pty: Option<(u32, u32)>,
    channel: Option<ChannelId>,
    live: Option<Live>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.offered_unknown && self.user.is_none() {
            self.shared.gate.failed(self.peer.ip(), std::time::Instant::now());
        }
        tracing::info!(conn = self.id, peer = %self.peer, user = self.user.as_deref().unwrap_or("-"), "disconnected");
    }
}

impl Conn {
    fn allowed(&self) -> bool {
        self.shared.gate.may_authenticate(self.peer.ip(), std::time::Instant::now())
    }

    /// Says one line and closes the channel: for what the server will not do.
    fn refuse(&self, channel: ChannelId, line: &str, session: &mut SshSession) -> Result<(), russh::Error> {
        session.data(channel, format!("reach: {line}\r\n").into_bytes())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

fn reject() -> Auth {
    Auth::Reject { proceed_with_methods: Some(publickey_only()), partial_success: false }
}

/// The one method offered: no passwords, no "none", no keyboard-interactive.
fn publickey_only() -> MethodSet {
    MethodSet::from(&[MethodKind::PublicKey][..])
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(reject())
    }

    async fn auth_publickey_offered(&mut self, _user: &str, offer: PublicKeyOffer<'_>) -> Result<Auth, Self::Error> {
        // Decides nothing about identity: it only spares the client a signature for a key that
        // would be refused anyway. russh asks this again before verifying a signature, so
        // `auth_publickey` never sees an unknown key: a connection that offered one and never
        // logged in counts as one failed login when it ends (clients offer every key they hold,
        // so one failure per key would lock out a teammate with many).
        if !self.allowed() {
            return Ok(reject());
        }
        if self.shared.keys().user_of(offer.public_key).is_none() {
            self.offered_unknown = true;
            tracing::info!(conn = self.id, peer = %self.peer, key = %fingerprint(offer.public_key), "refused: key not in the keys file");
            return Ok(reject());
        }
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, _user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        let fp = fingerprint(key.public_key);
        if !self.allowed() {
            tracing::warn!(conn = self.id, peer = %self.peer, key = %fp, "refused: too many failed logins from this address");
            return Ok(reject());
        }
        match self.shared.keys().user_of(key.public_key) {
            Some(entry) => {
                tracing::info!(conn = self.id, peer = %self.peer, key = %fp, user = %entry.user, line = entry.line, "authenticated");
                self.user = Some(entry.user.clone());
                self.authed.store(true, Ordering::SeqCst);
                self.startup = None;
                Ok(Auth::Accept)
            }
            None => {
                self.shared.gate.failed(self.peer.ip(), std::time::Instant::now());
                tracing::warn!(conn = self.id, peer = %self.peer, key = %fp, "refused: key not in the keys file");
                Ok(reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        // One TUI per connection; a second channel would share nothing with it.
        if self.channel.is_some() {
            reply.reject(russh::ChannelOpenFailure::AdministrativelyProhibited).await;
        } else {
            self.channel = Some(channel.id());
            reply.accept().await;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.pty = Some((cols, rows));
        session.channel_success(channel)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut SshSession) -> Result<(), Self::Error> {
        let Some(user) = self.user.clone() else {
            return self.refuse(channel, "not logged in", session);
        };
        let Some(size) = self.pty else {
            tracing::info!(conn = self.id, %user, "refused: no pty");
            return self.refuse(channel, "the TUI needs a terminal: connect with ssh -t", session);
        };
        // One TUI per connection, ever: not a second one after the first ended.
        if self.live.is_some() || self.started.load(Ordering::SeqCst) {
            return session.channel_failure(channel);
        }
        let place: Place = match self.shared.gate.open(&user) {
            Ok(p) => p,
            Err(why) => {
                tracing::warn!(conn = self.id, %user, "refused: {why}");
                return self.refuse(channel, &why.to_string(), session);
            }
        };
        session.channel_success(channel)?;
        let who = Who { user, conn: self.id, channel, handle: session.handle(), over: Arc::clone(&self.over) };
        match session::start(&self.shared.setup, who, place, size) {
            Ok(live) => {
                self.live = Some(live);
                self.started.store(true, Ordering::SeqCst);
            }
            Err(e) => return self.refuse(channel, &format!("cannot start a session: {e}"), session),
        }
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, "this server runs the TUI only: connect with ssh -t and no command", session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, "this server runs the TUI only (no sftp or other subsystems)", session)
    }

    async fn data(&mut self, _channel: ChannelId, data: &[u8], _session: &mut SshSession) -> Result<(), Self::Error> {
        if self.live.as_ref().is_some_and(|live| !live.give(Input::Bytes(data.to_vec()))) {
            tracing::warn!(
                conn = self.id,
                user = self.user.as_deref().unwrap_or("-"),
                "closed: the client sends input faster than its session takes it"
            );
            self.live = None;
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.pty = Some((cols, rows));
        if self.live.as_ref().is_some_and(|live| !live.give(Input::Resize(cols, rows))) {
            self.live = None;
        }
        Ok(())
    }

    async fn channel_eof(&mut self, _channel: ChannelId, _session: &mut SshSession) -> Result<(), Self::Error> {
        // The client's input ended: nothing more can be typed, so the session ends.
        self.live = None;
        Ok(())
    }

    async fn channel_close(&mut self, _channel: ChannelId, _session: &mut SshSession) -> Result<(), Self::Error> {
        self.live = None;
        Ok(())
    }
}

/// Makes the data dir and every file in it private to the user `reach serve` runs as, and every
/// file created from now on private too: whoever can read the data dir bypasses every rule.
pub fn lock_down(dir: &Path) -> std::io::Result<()> {
    crate::talk::private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: umask only sets the process's file creation mask.
        unsafe {
            libc::umask(0o077);
        }
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d)? {
                let entry = entry?;
                let meta = entry.metadata()?;
                let mode = meta.permissions().mode();
                if meta.is_dir() {
                    if mode & 0o077 != 0 {
                        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o700))?;
                    }
                    dirs.push(entry.path());
                } else if meta.is_file() && mode & 0o077 != 0 {
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
                    tracing::info!(file = %entry.path().display(), "made private (0600)");
                }
            }
        }
    }
    Ok(())
}
