//! Property test: two handles on one store file write at once. Whatever the interleaving, the
//! store ends as some serial order of the writes leaves it, and the change feed names every write
//! exactly once, to a third handle following it as an open TUI would.
//!
//! Two handles in one process stand for two processes: each `Store::open` is its own redb
//! `Database` (file descriptor, page cache), writer thread and feed follower, so nothing is shared
//! but the file. redb takes its MultiWriter locks as OFD byte-range locks, which belong to the open
//! file rather than the process, and documents that they conflict "with locks held by independently
//! opened instances, including those in the same process". A process-wide lock would make this
//! setup meaningless, which is why it is worth saying. The binary-level test is `tests/live.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use reach::model::{Activity, Lead, LeadInput, Source};
use reach::store::{Change, Feed, FeedEvent, Filter, LeadRef, Outcome, SortKey, Stats, Store, WriteCtx, WriteOp};

const WS: &str = "u:tester";
const SEEDS: u64 = 4;
/// Usernames both handles may create: dedup must leave one lead for each, whoever comes first.
/// The last is the first in another case.
const SHARED: [&str; 3] = ["shared_one", "shared_two", "Shared_One"];
/// Phones, one in a national format: edits that take another lead's phone are refused.
const PHONES: [&str; 3] = ["+79160000001", "8 (916) 000-00-02", "+79160000003"];
const PHONE_KEYS: [&str; 3] = ["+79160000001", "+79160000002", "+79160000003"];

#[derive(Debug, Clone)]
enum Field {
    Status(usize),
    /// Adds tag n % 3, or removes it for n >= 3.
    Tag(usize),
    FirstName(usize),
    Custom(usize),
    Phone(usize),
}

#[derive(Debug, Clone)]
enum Op {
    /// An upsert that matches seed lead n by username (or recreates it once deleted).
    MergeSeed(usize, Field),
    /// An upsert of a shared username.
    Shared(usize, Field),
    /// An edit of seed lead n by id.
    Edit(usize, Field),
    Delete(usize),
}

/// One `submit`: a marker lead first, then the ops. `wait`: wait for it (and anything queued
/// before it) before submitting the next, else queue the next at once so the writer may coalesce.
#[derive(Debug, Clone)]
struct Request {
    ops: Vec<Op>,
    wait: bool,
    pause_us: u64,
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        (0..3usize).prop_map(Field::Status),
        (0..6usize).prop_map(Field::Tag),
        (0..4usize).prop_map(Field::FirstName),
        (0..4usize).prop_map(Field::Custom),
        (0..PHONES.len()).prop_map(Field::Phone),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let seed = 0..SEEDS as usize;
    prop_oneof![
        3 => (seed.clone(), field()).prop_map(|(n, f)| Op::MergeSeed(n, f)),
        2 => (0..SHARED.len(), field()).prop_map(|(n, f)| Op::Shared(n, f)),
        3 => (seed.clone(), field()).prop_map(|(n, f)| Op::Edit(n, f)),
        1 => seed.prop_map(Op::Delete),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (prop::collection::vec(op(), 0..4), any::<bool>(), prop_oneof![Just(0u64), 0..1500u64])
        .prop_map(|(ops, wait, pause_us)| Request { ops, wait, pause_us })
}

fn ctx() -> WriteCtx {
    WriteCtx { workspace: WS.into(), actor: "tester".into() }
}

fn input(username: Option<&str>, f: Option<&Field>) -> reach::model::Candidate {
    let mut i = LeadInput { username: username.map(Into::into), ..Default::default() };
    match f {
        None => {}
        Some(Field::Status(n)) => i.status = Some(["active", "blocked", "archived"][*n].into()),
        Some(Field::Tag(n)) if *n < 3 => i.tags = vec![format!("tag{n}")],
        Some(Field::Tag(n)) => i.remove_tags = vec![format!("tag{}", n % 3)],
        Some(Field::FirstName(n)) => i.first_name = Some(format!("Name{n}")),
        Some(Field::Custom(n)) => i.fields = vec![(format!("key{}", n % 2), format!("value{n}"))],
        Some(Field::Phone(n)) => i.phone = Some(PHONES[*n].into()),
    }
    i.validate(Source::Manual, Some("RU")).unwrap()
}

fn marker(handle: usize, n: usize) -> String {
    format!("mark_{handle}_{n}")
}

/// Seed lead n has id n + 1: the seeding is the first write of every store.
fn seed_name(n: usize) -> String {
    format!("seed_lead_{n}")
}

fn write_ops(handle: usize, n: usize, r: &Request) -> Vec<WriteOp> {
    let mut ops = vec![WriteOp::Upsert(input(Some(&marker(handle, n)), None))];
    ops.extend(r.ops.iter().map(|op| match op {
        Op::MergeSeed(s, f) => WriteOp::Upsert(input(Some(&seed_name(*s)), Some(f))),
        Op::Shared(s, f) => WriteOp::Upsert(input(Some(SHARED[*s]), Some(f))),
        Op::Edit(s, f) => WriteOp::Edit { id: *s as u64 + 1, cand: input(None, Some(f)) },
        Op::Delete(s) => WriteOp::Delete { id: *s as u64 + 1 },
    }));
    ops
}

fn seed(store: &Store) {
    let ops = (0..SEEDS as usize).map(|n| WriteOp::Upsert(input(Some(&seed_name(n)), None))).collect();
    let out = store.write(ctx(), ops).unwrap();
    let ids: Vec<_> = out.iter().map(Outcome::id).collect();
    assert_eq!(ids, (1..=SEEDS).map(Some).collect::<Vec<_>>());
}

/// One handle's writes, as its thread submits them; the outcomes of each request, in order.
fn drive(store: &Store, handle: usize, reqs: &[Request], start: &Barrier) -> Vec<Vec<Outcome>> {
    start.wait();
    let mut queued = VecDeque::new();
    let mut out = Vec::new();
    for (n, r) in reqs.iter().enumerate() {
        if r.pause_us > 0 {
            std::thread::sleep(Duration::from_micros(r.pause_us));
        }
        queued.push_back(store.submit(ctx(), write_ops(handle, n, r)).unwrap());
        if r.wait {
            out.extend(queued.drain(..).map(|t| t.wait().unwrap()));
        }
    }
    out.extend(queued.drain(..).map(|t| t.wait().unwrap()));
    out
}

/// Everything a reader can tell about the workspace, with the clock taken out.
#[derive(Debug, PartialEq)]
struct State {
    leads: Vec<(Lead, Vec<Activity>)>,
    /// What the username and phone indexes answer for every name and phone the test uses.
    index: BTreeMap<String, Option<u64>>,
    stats: Stats,
}

fn state(store: &Store, markers: &[String]) -> State {
    let leads = store
        .list(WS, &Filter::default(), SortKey::default(), None)
        .unwrap()
        .into_iter()
        .map(|mut l| {
            let mut history = store.history(&l).unwrap();
            for a in &mut history {
                a.at = 0;
            }
            (l.created_at, l.updated_at) = (0, 0);
            (l, history)
        })
        .collect();
    let names = (0..SEEDS as usize).map(seed_name).chain(SHARED.iter().map(|s| s.to_string())).chain(markers.to_vec());
    let mut index: BTreeMap<String, Option<u64>> = names
        .map(|n| {
            let id = store.resolve(WS, &LeadRef::Username(n.clone())).unwrap().map(|l| l.id);
            (format!("@{n}"), id)
        })
        .collect();
    for p in PHONE_KEYS {
        index.insert(p.to_string(), store.resolve(WS, &LeadRef::Phone(p.into())).unwrap().map(|l| l.id));
    }
    State { leads, index, stats: store.stats(WS, &Filter::default()).unwrap() }
}

/// What several transactions, in order, made of their leads, as one transaction doing all of
/// their writes would record it: created (and not deleted again), deleted (and not created among
/// them), or otherwise updated.
fn fold(changes: &[&Change]) -> Sets {
    // id -> (existed before, exists after, updated)
    let mut seen: BTreeMap<u64, (bool, bool, bool)> = BTreeMap::new();
    for c in changes {
        let (created, updated, deleted) = sets(c);
        for id in created {
            seen.insert(id, (false, true, false));
        }
        for id in updated {
            seen.entry(id).or_insert((true, true, false)).2 = true;
        }
        for id in deleted {
            seen.entry(id).or_insert((true, true, false)).1 = false;
        }
    }
    let (mut created, mut updated, mut deleted) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (id, state) in seen {
        match state {
            (false, true, _) => created.insert(id),
            (true, false, _) => deleted.insert(id),
            (true, true, true) => updated.insert(id),
            _ => false,
        };
    }
    (created, updated, deleted)
}

type Sets = (BTreeSet<u64>, BTreeSet<u64>, BTreeSet<u64>);

/// A change's (created, updated, deleted) ids in the workspace.
fn sets(c: &Change) -> Sets {
    let w = c.leads.iter().filter(|w| w.workspace == WS);
    let (mut created, mut updated, mut deleted) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for w in w {
        created.extend(&w.created.0);
        updated.extend(&w.updated.0);
        deleted.extend(&w.deleted.0);
    }
    (created, updated, deleted)
}

fn check(reqs: [Vec<Request>; 2]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let handles = [Store::open_dir(dir.path()).unwrap(), Store::open_dir(dir.path()).unwrap()];
    let observer = Store::open_dir(dir.path()).unwrap();
    seed(&handles[0]);
    let from = observer.feed_seq().unwrap();
    let events = observer.subscribe().unwrap();

    let start = Arc::new(Barrier::new(2));
    let outcomes: Vec<Vec<Vec<Outcome>>> = std::thread::scope(|s| {
        let running: Vec<_> = (0..2)
            .map(|h| {
                let (store, reqs, start) = (&handles[h], &reqs[h], Arc::clone(&start));
                s.spawn(move || drive(store, h, reqs, &start))
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let last = handles[1].feed_seq().unwrap();

    // The serial order the writers chose: ids are allocated in commit order, and every request
    // creates its marker first, so sorting by the marker's id orders the requests. (Were ids
    // allocated otherwise, the replay below would disagree.)
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    for (h, outs) in outcomes.iter().enumerate() {
        for (n, o) in outs.iter().enumerate() {
            let Outcome::Created { id } = o[0] else {
                return Err(TestCaseError::fail(format!("marker {} was {:?}", marker(h, n), o[0])));
            };
            order.push((id, h, n));
        }
    }
    order.sort();
    for h in 0..2 {
        let mine: Vec<usize> = order.iter().filter(|o| o.1 == h).map(|o| o.2).collect();
        prop_assert!(mine.windows(2).all(|w| w[0] < w[1]), "handle {} committed out of order: {:?}", h, mine);
    }

    // Replayed one request at a time in that order on a fresh store, the writes answer the same
    // and leave the same state: no write was lost, none applied twice, dedup held across handles.
    let fresh = tempfile::tempdir().unwrap();
    let serial = Store::open_dir(fresh.path()).unwrap();
    seed(&serial);
    let serial_from = serial.feed_seq().unwrap();
    for &(_, h, n) in &order {
        let replayed = serial.write(ctx(), write_ops(h, n, &reqs[h][n])).unwrap();
        prop_assert_eq!(&replayed, &outcomes[h][n], "request {} of handle {}", n, h);
    }
    // Every request creates its marker, so the replay's feed has one entry per request, in order.
    let Feed::Changes(serial_feed) = serial.changes_since(serial_from).unwrap() else { panic!("behind") };
    prop_assert_eq!(serial_feed.len(), order.len());
    let serial_change: HashMap<(usize, usize), &Change> =
        order.iter().zip(&serial_feed).map(|(&(_, h, n), (_, c))| ((h, n), c)).collect();
    let markers: Vec<String> = order.iter().map(|&(_, h, n)| marker(h, n)).collect();
    prop_assert_eq!(state(&handles[0], &markers), state(&serial, &markers));
    prop_assert_eq!(state(&handles[1], &markers), state(&serial, &markers), "both handles read the same");

    // The feed: one entry per transaction, numbered without gaps. Each request's marker is in
    // exactly one entry; an entry holds one handle's consecutive requests (a coalesced
    // transaction), and names exactly what those requests changed when replayed one by one.
    let Feed::Changes(feed) = handles[0].changes_since(from).unwrap() else { panic!("behind") };
    let seqs: Vec<u64> = feed.iter().map(|(s, _)| *s).collect();
    prop_assert_eq!(seqs, (from + 1..=last).collect::<Vec<_>>());
    let mut groups: BTreeMap<u64, Vec<(usize, usize)>> = BTreeMap::new();
    for &(id, h, n) in &order {
        let holding: Vec<u64> = feed.iter().filter(|(_, c)| sets(c).0.contains(&id)).map(|(s, _)| *s).collect();
        prop_assert_eq!(
            holding.len(),
            1,
            "marker #{} of request {} of handle {} is in entries {:?}",
            id,
            n,
            h,
            holding
        );
        groups.entry(holding[0]).or_default().push((h, n));
    }
    prop_assert_eq!(groups.len(), feed.len(), "an entry that no request wrote");
    for (seq, change) in &feed {
        let group = &groups[seq];
        let h = group[0].0;
        prop_assert!(group.iter().all(|g| g.0 == h), "entry {} mixes handles: {:?}", seq, group);
        prop_assert!(group.windows(2).all(|w| w[1].1 == w[0].1 + 1), "entry {} skips a request: {:?}", seq, group);
        let replayed: Vec<&Change> = group.iter().map(|g| serial_change[g]).collect();
        prop_assert_eq!(sets(change), fold(&replayed), "entry {} for requests {:?}", seq, group);
    }

    // The observer hears of every entry once, in order, though it wrote none of them.
    let mut heard: Vec<(u64, Change)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while heard.last().map(|h| h.0).unwrap_or(from) < last {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(FeedEvent::Changes(list)) => heard.extend(list.iter().cloned()),
            Ok(FeedEvent::Reload) => prop_assert!(false, "the observer was told to reload"),
            Err(e) => {
                prop_assert!(false, "the observer heard up to {:?} of {}: {}", heard.last().map(|h| h.0), last, e)
            }
        }
    }
    prop_assert_eq!(heard, feed);
    Ok(())
}

proptest! {
    // Each case opens four stores, commits a few dozen transactions and waits up to a feed poll
    // (250 ms) for the observer: about four seconds in all.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn two_writers_end_as_a_serial_order_and_the_feed_names_each_write_once(
        a in prop::collection::vec(request(), 1..8),
        b in prop::collection::vec(request(), 1..8),
    ) {
        check([a, b])?;
    }
}
