//! `reach serve` end to end: the server in-process on an ephemeral port, real SSH clients
//! (russh's), and each client's screen read by a terminal emulator. Plus one run of the real
//! binary with the system `ssh` client through tmux.

mod common;
// The SSH client with a terminal emulator for a screen, shared with `reach bench serve`.
#[allow(dead_code)]
#[path = "../src/bench/ssh_client.rs"]
mod ssh_client;

use std::time::{Duration, Instant};

use common::Env;
use reach::serve::{Limits, Options, Served, Server};
use russh::client::{AuthResult, Handle};
use russh::keys::{PrivateKey, PublicKey};
use ssh_client::{key, openssh, row_of, Client, Term};

const COLS: u32 = 150;
const ROWS: u32 = 35;

const OLGA: u8 = 1;
const ADA: u8 = 2;
const MIA: u8 = 3;
const TOM: u8 = 4;
const STRANGER: u8 = 9;

/// A data dir with org "acme": olga owns it, ada is an admin, mia and tom are members; everyone
/// works in it. olga's lead "Zed Walker" is there.
struct Team {
    env: Env,
}

impl Team {
    fn new() -> Team {
        let env = Env::new();
        let team = Team { env };
        team.cli("olga", &["org", "create", "Acme"]);
        team.cli("olga", &["org", "add-member", "acme", "ada", "--role", "admin"]);
        team.cli("olga", &["org", "add-member", "acme", "mia"]);
        team.cli("olga", &["org", "add-member", "acme", "tom"]);
        for user in ["olga", "ada", "mia", "tom"] {
            team.cli(user, &["org", "use", "acme"]);
        }
        team.cli("olga", &["lead", "add", "--username", "zed_walker", "--first-name", "Zed", "--last-name", "Walker"]);
        let keys: String = [("olga", OLGA), ("ada", ADA), ("mia", MIA), ("tom", TOM)]
            .iter()
            .map(|(user, seed)| format!("environment=\"REACH_USER={user}\" {}\n", openssh(&key(*seed))))
            .collect();
        std::fs::write(team.env.path("keys"), keys).expect("keys file");
        team
    }

    fn cli(&self, user: &str, args: &[&str]) {
        let out = self.env.reach().arg("--user").arg(user).args(args).output().expect("reach runs");
        assert!(out.status.success(), "reach {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    async fn serve(&self, limits: Limits) -> Server {
        let store = reach::store::Store::open_dir(&self.env.data_dir()).expect("store");
        let served = Served {
            store,
            keys: Default::default(),
            settings: reach::tui::Settings {
                telegram: reach::crawl::backend::Telegram {
                    backend: reach::config::TelegramBackend::Simulated,
                    config: Default::default(),
                    data_dir: self.env.data_dir(),
                },
                pacing: reach::crawl::pool::Pacing { interval: Duration::from_millis(1), jitter: Duration::ZERO },
                history_depth: 0,
                cache_ttl: Duration::from_secs(3600),
                default_region: None,
                local_files: false,
                live: Default::default(),
            },
            read_receipts: false,
        };
        let opts = Options {
            listen: "127.0.0.1:0".into(),
            keys_file: self.env.path("keys"),
            host_key: self.env.data_dir().join("ssh_host_ed25519_key"),
            limits,
        };
        reach::serve::start(served, opts, tokio::runtime::Handle::current()).await.expect("server starts")
    }
}

async fn connect(server: &Server) -> Handle<Client> {
    ssh_client::connect(server.addr, &server.fingerprint).await.expect("connects")
}

async fn login(handle: &mut Handle<Client>, seed: u8) -> AuthResult {
    ssh_client::login(handle, seed).await.expect("auth exchange")
}

async fn open(server: &Server, seed: u8) -> Term {
    Term::open(server.addr, &server.fingerprint, seed, COLS, ROWS).await.expect("the TUI opens")
}

async fn shell(handle: Handle<Client>, pty: bool) -> Term {
    Term::shell(handle, pty.then_some((COLS, ROWS))).await.expect("a session channel")
}

/// The test's side of a client: every wait fails the test, showing the screen.
trait Expect {
    async fn wait(&self, what: &str, within: Duration, ok: impl Fn(&str) -> bool) -> Duration;
    async fn wait_for(&self, text: &str) -> Duration;
    async fn wait_closed(&self, within: Duration);
    async fn type_keys(&self, text: &str);
    async fn put(&self, bytes: &[u8]);
}

impl Expect for Term {
    async fn wait(&self, what: &str, within: Duration, ok: impl Fn(&str) -> bool) -> Duration {
        match self.wait_until(within, ok).await {
            Some(took) => took,
            None => panic!("waited {within:?} for {what}; the screen shows:\n{}", self.text()),
        }
    }

    async fn wait_for(&self, text: &str) -> Duration {
        self.wait(&format!("{text:?}"), Duration::from_secs(10), |s| s.contains(text)).await
    }

    async fn wait_closed(&self, within: Duration) {
        let start = Instant::now();
        while !self.closed() {
            assert!(start.elapsed() < within, "the channel was not closed within {within:?}:\n{}", self.text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn type_keys(&self, text: &str) {
        self.keys(text).await.expect("keys sent");
    }

    async fn put(&self, bytes: &[u8]) {
        self.send(bytes).await.expect("bytes sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_see_each_others_edits_live_without_a_key() {
    let team = Team::new();
    let server = team.serve(Limits::default()).await;
    let (olga, ada) = tokio::join!(open(&server, OLGA), open(&server, ADA));
    olga.wait_for("Zed Walker").await;
    // ada is an admin: the workspace's every lead is hers to see in the "all" view.
    ada.wait_for("acme · admin").await;
    ada.type_keys("v").await;
    ada.wait_for("Zed Walker").await;
    assert!(row_of(&ada.text(), "Zed Walker").is_some_and(|r| r.contains("active")), "{}", ada.text());
    assert_eq!(server.sessions(), 2);

    // olga sets the status; ada's screen changes with no key pressed on it.
    olga.type_keys("s").await;
    olga.wait_for("archived").await;
    olga.type_keys("j").await;
    olga.put(b"\r").await;
    olga.wait("olga's row to say blocked", Duration::from_secs(5), |s| {
        row_of(s, "Zed Walker").is_some_and(|r| r.contains("blocked"))
    })
    .await;
    let took = ada
        .wait("ada's row to say blocked", Duration::from_secs(1), |s| {
            row_of(s, "Zed Walker").is_some_and(|r| r.contains("blocked"))
        })
        .await;
    println!("the edit reached the other screen in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_never_sees_another_members_lead_and_an_admin_does() {
    let team = Team::new();
    team.cli("mia", &["lead", "add", "--username", "mia_first", "--first-name", "Mira", "--last-name", "First"]);
    let server = team.serve(Limits::default()).await;
    let (tom, ada, mia) = tokio::join!(open(&server, TOM), open(&server, ADA), open(&server, MIA));
    tom.wait_for("acme · member").await;
    // The role shows once the workspace is read: from then on "v" is offered.
    ada.wait_for("acme · admin").await;
    ada.type_keys("v").await;
    ada.wait_for("Mira First").await;
    mia.wait_for("Mira First").await;
    // tom asks for every lead: a member may not, by default.
    tom.type_keys("v").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A lead mia creates now reaches her and ada, never tom, not even for a frame.
    team.cli("mia", &["lead", "add", "--username", "mia_second", "--first-name", "Mira", "--last-name", "Second"]);
    mia.wait_for("Mira Second").await;
    ada.wait_for("Mira Second").await;
    // tom's own lead, written after mia's: once his screen shows it, his session has followed
    // the feed past mia's lead.
    team.cli("tom", &["lead", "add", "--username", "tom_own", "--first-name", "Tomas", "--last-name", "Own"]);
    tom.wait_for("Tomas Own").await;
    let (screen, raw) = (tom.text(), tom.raw());
    for name in ["Mira", "mia_first", "mia_second", "Zed Walker"] {
        assert!(!raw.contains(name), "tom's terminal was sent {name:?}; it shows:\n{screen}");
    }
    assert!(screen.contains("acme · member"), "{screen}");
}

/// Signs as the client asked, but with another key than the one it offered.
struct SignWith(PrivateKey);

impl russh::Signer for SignWith {
    type Error = russh::AgentAuthError;

    async fn auth_sign(
        &mut self,
        _key: &russh::keys::agent::AgentIdentity,
        _hash: Option<russh::keys::HashAlg>,
        mut to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        use russh::keys::signature::Signer;
        use russh::keys::ssh_encoding::Encode;
        let sig: russh::keys::ssh_key::Signature = self.0.try_sign(&to_sign).map_err(|_| russh::SendError {})?;
        let blob = sig.encode_vec().map_err(|_| russh::SendError {})?;
        to_sign.extend_from_slice(&(blob.len() as u32).to_be_bytes());
        to_sign.extend_from_slice(&blob);
        Ok(to_sign)
    }
}

/// Holds no private key at all: the offer is all it can make.
struct CannotSign;

impl russh::Signer for CannotSign {
    type Error = russh::AgentAuthError;

    async fn auth_sign(
        &mut self,
        _key: &russh::keys::agent::AgentIdentity,
        _hash: Option<russh::keys::HashAlg>,
        _to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        Err(russh::SendError {}.into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_and_an_offered_key_is_never_the_identity() {
    let team = Team::new();
    let server = team.serve(Limits::default()).await;

    let mut stranger = connect(&server).await;
    assert!(!login(&mut stranger, STRANGER).await.success(), "a key not in the keys file");

    // tom offers mia's public key (the server would accept a signature by it), signs with his own.
    let mia_public: PublicKey = key(MIA).public_key().clone();
    let mut tom = connect(&server).await;
    let forged = tom.authenticate_publickey_with("mia", mia_public.clone(), None, &mut SignWith(key(TOM))).await;
    assert!(!matches!(forged, Ok(AuthResult::Success)), "a signature by another key than the offered one");
    // Then offers it with nothing to sign, and logs in with his own key on the same connection.
    let _ = tom.authenticate_publickey_with("mia", mia_public, None, &mut CannotSign).await;
    assert!(login(&mut tom, TOM).await.success());
    let tom = shell(tom, true).await;
    tom.wait_for("acme · member").await;
    let bar = tom.text().lines().rev().find(|l| l.contains("acme · member")).unwrap_or_default().to_string();
    assert!(bar.contains("tom") && !bar.contains("mia"), "tom is tom: {bar}");

    // A key removed from the keys file no longer logs in, with no restart.
    std::fs::write(team.env.path("keys"), format!("environment=\"REACH_USER=mia\" {}\n", openssh(&key(MIA))))
        .expect("keys file");
    let mut again = connect(&server).await;
    assert!(!login(&mut again, TOM).await.success(), "a revoked key");
    let mut mia = connect(&server).await;
    assert!(login(&mut mia, MIA).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_address_lock_it_out_for_a_while() {
    let team = Team::new();
    let server = team.serve(Limits { auth_failures_per_ip: 3, ..Limits::default() }).await;
    for _ in 0..3 {
        let mut stranger = connect(&server).await;
        assert!(!login(&mut stranger, STRANGER).await.success());
    }
    // Even a good key gets nowhere from this address now, until the failures age out: the
    // connection is cut at once (or, were it let in, the login refused). A failure is counted
    // when its connection ends, which the server sees a moment after the client.
    let start = Instant::now();
    loop {
        let refused = match ssh_client::connect(server.addr, &server.fingerprint).await {
            Ok(mut mia) => ssh_client::login(&mut mia, MIA).await.map_or(true, |r| !r.success()),
            Err(_) => true,
        };
        if refused {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "the address is not locked out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_paste_split_escapes_a_lone_esc_and_a_clean_quit() {
    let team = Team::new();
    team.cli("olga", &["lead", "add", "--username", "amy_stone", "--first-name", "Amy", "--last-name", "Stone"]);
    let server = team.serve(Limits::default()).await;
    let t = open(&server, OLGA).await;
    t.wait_for("Amy Stone").await;
    assert!(t.screen.lock().unwrap().screen().alternate_screen(), "the TUI draws on the alternate screen");

    // A smaller window: the client says so, the server draws to it.
    t.set_size(90, 20);
    t.w.window_change(90, 20, 0, 0).await.expect("window change");
    t.wait("the frame redrawn at 90 columns", Duration::from_secs(5), |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() <= 20 && lines.iter().any(|l| l.contains("acme"))
    })
    .await;

    // A paste into the search box is text, not keys: one line, and "q" in it does not quit.
    t.type_keys("/").await;
    t.put(b"\x1b[200~Zed q\n\x1b[201~").await;
    t.wait("the pasted query", Duration::from_secs(5), |s| s.contains("Zed q")).await;
    t.wait("the search to leave no match", Duration::from_secs(5), |s| !s.contains("Amy Stone")).await;
    // A lone Esc leaves the search box; the query stays, so backspacing it needs the box again.
    t.put(b"\x1b").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    t.type_keys("/").await;
    for _ in 0.."Zed q ".len() {
        t.put(b"\x7f").await;
    }
    t.wait_for("Amy Stone").await;
    t.put(b"\x1b").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Down, as Esc, "[" and "B" in separate packets: one key, not Esc then letters.
    t.type_keys("g").await;
    t.put(b"\x1b").await;
    t.put(b"[").await;
    t.put(b"B").await;
    let start = Instant::now();
    while !t.cursor_on("Zed Walker") {
        assert!(start.elapsed() < Duration::from_secs(5), "the cursor moved down one row:\n{}", t.text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!t.cursor_on("Amy Stone"));
    assert_eq!(t.exit(), None);

    // The server's files are not a teammate's: no import from them, no export to them.
    t.type_keys("x").await;
    t.wait_for("use the server's files").await;
    t.type_keys("i").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!t.text().contains("Import a CSV"), "no import panel:\n{}", t.text());

    // q quits: the client's terminal is given back and the channel ends with status 0.
    t.put(b"\x1b").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.type_keys("q").await;
    t.wait_closed(Duration::from_secs(5)).await;
    assert_eq!(t.exit(), Some(0));
    {
        let screen = t.screen.lock().unwrap();
        assert!(!screen.screen().alternate_screen(), "the alternate screen is left");
        assert!(!screen.screen().hide_cursor(), "the cursor is shown again");
    }
    assert!(t.raw().contains("\x1b[?2004l"), "bracketed paste is switched off");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.sessions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_capped_and_a_pty_and_a_timely_login_are_required() {
    let team = Team::new();
    let limits = Limits { max_sessions: 2, max_per_user: 1, login_grace: Duration::from_secs(1), ..Limits::default() };
    let server = team.serve(limits).await;
    let first = open(&server, MIA).await;
    first.wait_for("acme").await;

    let second = open(&server, MIA).await;
    second.wait_closed(Duration::from_secs(5)).await;
    assert_eq!(second.exit(), Some(1));
    assert!(second.text().contains("already has 1 open session"), "{}", second.text());

    let tom = open(&server, TOM).await;
    tom.wait_for("acme").await;
    let ada = open(&server, ADA).await;
    ada.wait_closed(Duration::from_secs(5)).await;
    assert!(ada.text().contains("2 sessions open, its most"), "{}", ada.text());

    // No pty: a line that says how to connect.
    let mut handle = connect(&server).await;
    assert!(login(&mut handle, OLGA).await.success());
    let no_pty = shell(handle, false).await;
    no_pty.wait_closed(Duration::from_secs(5)).await;
    assert!(no_pty.text().contains("ssh -t"), "{}", no_pty.text());

    // Not logging in within the grace time ends the connection; a session is not so timed.
    let start = Instant::now();
    let idle_login = connect(&server).await;
    while !idle_login.is_closed() {
        assert!(start.elapsed() < Duration::from_secs(10), "a connection that never logs in is cut");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(start.elapsed() >= Duration::from_millis(900), "cut after the grace time, not before");
    assert!(!first.closed() && !tom.closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystrokes_keep_a_session_and_live_updates_do_not() {
    let team = Team::new();
    let idle = Duration::from_secs(3);
    let server = team.serve(Limits { idle, ..Limits::default() }).await;
    let t = open(&server, MIA).await;
    t.wait_for("acme").await;
    // A key a second, for longer than the idle time: the session stays.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        t.type_keys("j").await;
    }
    assert!(!t.closed(), "keys keep the session:\n{}", t.text());

    // Then no key, but a new lead on this screen every half second: it ends on time all the same.
    let last_key = Instant::now();
    let mut written = 0;
    while !t.closed() && last_key.elapsed() < Duration::from_secs(10) {
        let mut cmd = team.env.reach_std();
        cmd.args(["--user", "mia", "lead", "add", "--username", &format!("live_{written}")]);
        let _ = tokio::task::spawn_blocking(move || cmd.output()).await;
        written += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let lived = last_key.elapsed();
    assert!(t.closed(), "no key for {lived:?} and the session is still open");
    assert!(lived >= idle - Duration::from_millis(200), "ended {lived:?} after the last key, before its idle time");
    assert!(t.raw().contains("live_0"), "the updates reached the screen while it idled");
    assert!(t.text().contains("no key pressed for 3 seconds"), "{}", t.text());
    assert_eq!(t.exit(), Some(0));
}

/// The real binary with the system client: `reach serve` in the background, `ssh` in tmux.
#[test]
fn the_system_ssh_client_gets_the_tui_and_sigterm_ends_it_with_a_message() {
    use common::tmux::{have_tmux, tmux, wait_for, Session};
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let have_ssh = std::process::Command::new("ssh").arg("-V").output().is_ok();
    let have_keygen = std::process::Command::new("ssh-keygen").arg("--help").output().is_ok();
    if !(have_tmux() && have_ssh && have_keygen) {
        assert!(!ci, "CI must have tmux, ssh and ssh-keygen (.ci/run installs them)");
        eprintln!("skipped: this test needs tmux, ssh and ssh-keygen");
        return;
    }
    let team = Team::new();
    let key_path = team.env.path("id_mia");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "mia@laptop", "-f"])
        .arg(&key_path)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let public = std::fs::read_to_string(key_path.with_extension("pub")).expect("public key");
    std::fs::write(team.env.path("keys"), format!("environment=\"REACH_USER=mia\" {public}")).expect("keys file");

    let mut server = team
        .env
        .reach_std()
        .args(["serve", "--listen", "127.0.0.1:0", "--keys"])
        .arg(team.env.path("keys"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("reach serve starts");
    let mut out = std::io::BufReader::new(server.stdout.take().expect("stdout"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).expect("first line");
    let port = first.trim().rsplit(':').next().unwrap_or_default().to_string();
    assert!(port.parse::<u16>().is_ok(), "the server says where it listens: {first}");

    let known = team.env.path("known_hosts");
    let session = Session(format!("reach-serve-{}", std::process::id()));
    let ssh = format!(
        "ssh -tt -p {port} -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={} -o BatchMode=yes nobody@127.0.0.1; echo ssh-exit=$?; sleep 30",
        key_path.display(),
        known.display()
    );
    tmux(&["new-session", "-d", "-s", &session.0, "-x", "140", "-y", "35", &ssh]);
    wait_for(&session.0, "acme · member · own leads · mia");
    // The log says who logged in with which key; the screen never shows the log.
    let log = std::fs::read_to_string(team.env.data_dir().join("serve.log")).expect("serve.log");
    assert!(log.contains("authenticated") && log.contains("user=mia") && log.contains("SHA256:"), "{log}");

    // SIGTERM: the session ends with a message, the client's ssh exits, the server stops cleanly.
    let term = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(term.is_ok_and(|s| s.success()));
    let screen = wait_for(&session.0, "ssh-exit=0");
    assert!(screen.contains("shutting down"), "{screen}");
    let status = server.wait().expect("server exits");
    assert!(status.success(), "reach serve exits cleanly: {status:?}");
    let log = std::fs::read_to_string(team.env.data_dir().join("serve.log")).expect("serve.log");
    assert!(log.contains("disconnected"), "{log}");
}
