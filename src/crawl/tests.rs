//! Crawls against the simulated world, on tokio's paused clock: waits cost no real time.

use std::sync::atomic::Ordering;

use super::*;
use crate::store::Filter;
use crate::telegram::sim::{SimAccount, World};

const WS: &str = "u:tester";

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    world: Arc<World>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        Env { _dir: dir, store, world: Arc::new(World::demo()) }
    }

    fn accounts(&self, names: &[&str]) -> Vec<Account<SimAccount>> {
        names
            .iter()
            .map(|n| Account { name: n.to_string(), source: self.world.account(n), flood_until: None })
            .collect()
    }

    async fn crawl_in(&self, ws: &str, target: &str, tweak: impl FnOnce(&mut Options)) -> Result<Summary, CrawlError> {
        let mut opts = options(target);
        tweak(&mut opts);
        let sink = Sink {
            store: &self.store,
            ctx: WriteCtx { workspace: ws.into(), actor: ws[2..].into() },
            data_dir: self._dir.path(),
        };
        crawl(&sink, self.accounts(&["one", "two"]), &opts, Arc::new(AtomicBool::new(false)), &mut |_| {}).await
    }

    async fn crawl(&self, target: &str) -> Summary {
        self.crawl_in(WS, target, |_| {}).await.unwrap()
    }

    fn leads(&self) -> Vec<crate::model::Lead> {
        self.store.list(WS, &Filter::default(), Default::default(), None).unwrap()
    }
}

fn options(target: &str) -> Options {
    Options {
        target: Target::parse(target).unwrap(),
        method: None,
        refresh: false,
        join: false,
        photos: false,
        history_depth: 5_000,
        cache_ttl: Duration::from_secs(24 * 3600),
        pacing: Pacing { interval: Duration::from_millis(100), jitter: Duration::from_millis(50) },
    }
}

#[tokio::test(start_paused = true)]
async fn each_target_collects_exactly_its_members_with_the_method_auto_picks() {
    let env = Env::new();
    let small = env.crawl("@demo_small").await;
    assert_eq!(small.methods, [Method::Participants]);
    let c = &small.counts;
    assert_eq!((c.members_seen, c.created, c.skipped_bots, c.skipped_deleted), (150, 145, 3, 2));
    // Resolve and chat info, one page of 150, and at most one resolve by the second account.
    assert!((3..=4).contains(&small.counts.requests), "{}", small.counts.requests);

    let big = env.crawl("https://t.me/demo_big").await;
    assert_eq!(big.methods, [Method::Search]);
    assert_eq!((big.counts.members_seen, big.counts.created, big.counts.updated), (25_000, 24_900, 100));
    assert!(big.warnings.is_empty(), "{:?}", big.warnings);
    let leads = env.leads();
    assert_eq!(leads.len(), 25_045);
    let both: Vec<_> = leads.iter().filter(|l| l.groups.len() == 2).collect();
    assert_eq!(both.len(), 100);
    assert!(both.iter().all(|l| l.groups.contains("Demo Small") && l.groups.contains("Demo Big")));
    assert!(leads.iter().all(|l| l.source == crate::model::Source::Crawling && l.language.is_some()));

    let hidden = env.crawl("@demo_hidden").await;
    assert_eq!(hidden.methods, [Method::Admins, Method::History]);
    assert_eq!(hidden.counts.members_seen, 800);

    let channel = env.crawl("@demo_channel").await;
    assert_eq!(channel.methods, [Method::Linked]);
    assert_eq!(channel.title, "Demo Channel");
    assert_eq!(channel.counts.created, 1_200);

    let refused = env.crawl_in(WS, "t.me/+demoinvite", |_| {}).await;
    assert!(matches!(refused, Err(CrawlError::Telegram { error: TgError::Private, .. })), "{refused:?}");
    let joined = env.crawl_in(WS, "t.me/+demoinvite", |o| o.join = true).await.unwrap();
    assert_eq!(joined.counts.created, 300);
    assert_eq!(env.leads().len(), 25_045 + 800 + 1_200 + 300);
}

#[tokio::test(start_paused = true)]
async fn a_sighting_is_recorded_in_history_and_a_recrawl_within_the_ttl_makes_no_requests() {
    let env = Env::new();
    let first = env.crawl("@demo_small").await;
    let before = env.world.requests("one") + env.world.requests("two");
    let again = env.crawl("@DEMO_SMALL").await;
    assert!(again.cache_used);
    assert_eq!(again.counts.requests, 0);
    assert_eq!(again.counts.members_seen, first.counts.members_seen);
    assert_eq!(env.world.requests("one") + env.world.requests("two"), before, "the cache hit sent nothing");

    let lead = &env.leads()[0];
    let history = env.store.history(lead).unwrap();
    assert!(history
        .iter()
        .any(|a| matches!(&a.kind, crate::model::ActivityKind::Sighted { group } if group == "Demo Small")));

    // --refresh crawls again; another workspace has its own cache.
    let refreshed = env.crawl_in(WS, "@demo_small", |o| o.refresh = true).await.unwrap();
    assert!(!refreshed.cache_used && refreshed.counts.requests > 0);
    assert_eq!(refreshed.counts.updated + refreshed.counts.unchanged, 145);
    let other = env.crawl_in("u:someone", "@demo_small", |_| {}).await.unwrap();
    assert!(!other.cache_used);
    assert_eq!(other.counts.created, 145);
    // An expired cache crawls again.
    let expired = env.crawl_in(WS, "@demo_small", |o| o.cache_ttl = Duration::ZERO).await.unwrap();
    assert!(!expired.cache_used);
}

#[tokio::test(start_paused = true)]
async fn flood_waits_are_honoured_exactly_and_the_crawl_moves_to_the_other_account() {
    let env = Env::new();
    let mut events = Vec::new();
    let mut opts = options("@demo_big");
    opts.pacing = Pacing { interval: Duration::ZERO, jitter: Duration::ZERO };
    let sink = Sink {
        store: &env.store,
        ctx: WriteCtx { workspace: WS.into(), actor: "tester".into() },
        data_dir: env._dir.path(),
    };
    let summary =
        crawl(&sink, env.accounts(&["one", "two"]), &opts, Arc::new(AtomicBool::new(false)), &mut |e| events.push(e))
            .await
            .unwrap();
    assert_eq!(summary.counts.members_seen, 25_000);
    assert!(summary.counts.flood_waits >= 2, "{:?}", summary.counts);
    assert!(env.world.requests("one") > 20 && env.world.requests("two") > 20, "both accounts worked");
    assert_eq!(env.world.early_requests("one") + env.world.early_requests("two"), 0, "no request inside a wait");
    assert!(events.iter().any(|e| matches!(e, Event::FloodWait { .. })));
    assert!(events.iter().any(|e| matches!(e, Event::Waiting { .. })), "both waited at once, with a countdown");
    // The waits are remembered for the next crawl and for `reach account list`.
    let accounts = account::list(&env.store).unwrap();
    assert!(accounts.is_empty(), "only accounts added with `reach account add` are recorded");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_crawl_resumes_from_its_checkpoint() {
    let env = Env::new();
    let sink = Sink {
        store: &env.store,
        ctx: WriteCtx { workspace: WS.into(), actor: "tester".into() },
        data_dir: env._dir.path(),
    };
    let opts = options("@demo_big");
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let mut stop_at_half = |e: Event| {
        if let Event::Progress(c) = e {
            if c.members_seen >= 12_000 {
                flag.store(true, Ordering::Relaxed);
            }
        }
    };
    let first = crawl(&sink, env.accounts(&["one"]), &opts, cancel, &mut stop_at_half).await.unwrap();
    assert!(first.cancelled);
    let seen_first = first.counts.members_seen;
    assert!((12_000..25_000).contains(&seen_first), "{seen_first}");
    let stored = env.leads().len() as u64;
    assert_eq!(stored, first.counts.created, "every page upserted is in the store");

    let second =
        crawl(&sink, env.accounts(&["one"]), &opts, Arc::new(AtomicBool::new(false)), &mut |_| {}).await.unwrap();
    assert!(second.resumed && !second.cancelled);
    assert_eq!(second.counts.members_seen, 25_000);
    assert_eq!(env.leads().len(), 25_000);

    // The resumed crawl made about as many requests as one that never stopped.
    let fresh = Env::new();
    let whole = fresh.crawl_in(WS, "@demo_big", |_| {}).await.unwrap();
    assert!(
        second.counts.requests <= whole.counts.requests + 2,
        "{} vs {}",
        second.counts.requests,
        whole.counts.requests
    );
    // Every lead got exactly one sighting, even across the restart.
    let lead = env.leads().into_iter().last().unwrap();
    let sightings = env
        .store
        .history(&lead)
        .unwrap()
        .iter()
        .filter(|a| matches!(a.kind, crate::model::ActivityKind::Sighted { .. }))
        .count();
    assert_eq!(sightings, 1);
}

#[tokio::test(start_paused = true)]
async fn an_explicit_method_is_not_replaced_and_photos_land_in_the_data_dir() {
    let env = Env::new();
    let refused = env.crawl_in(WS, "@demo_channel", |o| o.method = Some(Method::Participants)).await;
    assert!(matches!(refused, Err(CrawlError::Telegram { error: TgError::AdminRequired, .. })), "{refused:?}");
    let listed = env.crawl_in(WS, "@demo_big", |o| o.method = Some(Method::Participants)).await.unwrap();
    assert_eq!(listed.counts.members_seen, 10_000);
    assert!(listed.warnings[0].contains("at most 10000"), "{:?}", listed.warnings);
    let missing = env.crawl_in(WS, "@nobody_here", |_| {}).await;
    assert!(matches!(missing, Err(CrawlError::Telegram { error: TgError::NotFound, .. })));
    // A failed crawl gave its lease up: trying again meets Telegram's answer, not its own lease.
    let again = env.crawl_in(WS, "@nobody_here", |_| {}).await;
    assert!(matches!(again, Err(CrawlError::Telegram { error: TgError::NotFound, .. })), "{again:?}");

    let with_photos = env.crawl_in("u:pics", "@demo_small", |o| o.photos = true).await.unwrap();
    assert!(with_photos.counts.photos > 50, "{:?}", with_photos.counts);
    let leads = env.store.list("u:pics", &Filter::default(), Default::default(), None).unwrap();
    let photo = leads.iter().find_map(|l| l.photo.clone()).unwrap();
    let bytes = std::fs::read(env._dir.path().join(&photo)).unwrap();
    assert_eq!(&bytes[..2], b"BM");
}

#[tokio::test(start_paused = true)]
async fn two_crawls_of_one_target_never_run_at_once_and_the_second_says_who_is_at_it() {
    let env = Env::new();
    let (a, b) = tokio::join!(env.crawl_in(WS, "@demo_big", |_| {}), env.crawl_in(WS, "@demo_big", |_| {}));
    let (done, refused) = match (a, b) {
        (Ok(s), Err(e)) | (Err(e), Ok(s)) => (s, e),
        (a, b) => panic!("one crawl runs and one is refused: {:?} / {:?}", a.map(|s| s.counts), b.map(|s| s.counts)),
    };
    let why = refused.to_string();
    assert!(why.contains("crawl @demo_big") && why.contains("tester is at it"), "{why}");
    assert_eq!((done.counts.members_seen, done.counts.created), (25_000, 25_000));
    assert_eq!(env.leads().len(), 25_000);
    // The lease was given up: the next crawl answers from the cache at once.
    let again = env.crawl("@demo_big").await;
    assert!(again.cache_used);
    // Another workspace's crawl of the same target is its own work.
    let other = env.crawl_in("u:other", "@demo_small", |_| {}).await.unwrap();
    assert_eq!(other.counts.members_seen, 150);
}

#[tokio::test(start_paused = true)]
async fn a_crawl_whose_lease_was_taken_over_stops_without_writing_over_the_new_holder() {
    let env = Env::new();
    let sink = Sink {
        store: &env.store,
        ctx: WriteCtx { workspace: WS.into(), actor: "tester".into() },
        data_dir: env._dir.path(),
    };
    // Another run (alive: this very process) takes the lease mid-crawl, as one would after a lapse.
    let usurper = crate::store::Lease {
        holder: Holder { run: 7, by: "bob".into(), pid: std::process::id(), host: "this host".into() },
        since: now_millis(),
        renewed: now_millis(),
        until: now_millis() + 3_600_000,
    };
    let mut taken_at = None;
    let mut take_over = |e: Event| {
        if let (Event::Progress(c), None) = (&e, taken_at) {
            if c.members_seen >= 5_000 {
                let op = WriteOp::record(RecordKind::Lease, &lease_name("@demo_big"), &usurper);
                let out = env.store.write_one(WriteCtx { workspace: WS.into(), actor: "tester".into() }, op);
                assert!(matches!(out, Ok(Outcome::Recorded { .. })), "{out:?}");
                taken_at = Some((c.members_seen, env.leads().len()));
            }
        }
    };
    let opts = options("@demo_big");
    let err = crawl(&sink, env.accounts(&["one"]), &opts, Arc::new(AtomicBool::new(false)), &mut take_over)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bob is at it"), "{err}");
    let (seen, leads) = taken_at.unwrap();
    // Nothing was written after the takeover: no lead, and the checkpoint is the last one before it.
    let rec: CrawlRecord = env.store.record(RecordKind::Crawl, WS, "@demo_big").unwrap().unwrap();
    assert_eq!(rec.counts.members_seen, seen);
    assert_eq!(env.leads().len(), leads);
    // The lease stays the usurper's: the stopped crawl did not release it.
    let lease: crate::store::Lease =
        env.store.record(RecordKind::Lease, WS, &lease_name("@demo_big")).unwrap().unwrap();
    assert_eq!(lease.holder.run, 7);
}
