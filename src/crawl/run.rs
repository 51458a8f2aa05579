//! One crawl's run: the methods it pages through, the members it takes, its checkpoints, and the
//! lease on its target that every checkpoint renews.

use super::*;

/// The letters a search fan-out starts from and extends with.
const LATIN: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const CYRILLIC: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
/// A query this long that still saturates is paged as far as Telegram allows, with a warning.
const MAX_QUERY_CHARS: usize = 12;

fn extensions(q: &str) -> Vec<String> {
    let alphabet = match q.chars().last() {
        None => format!("{LATIN}{CYRILLIC}"),
        Some(c) if CYRILLIC.contains(c) => CYRILLIC.to_string(),
        Some(_) => format!("{LATIN}_"),
    };
    // Reversed, because the pending list is a stack and `a` should run first.
    alphabet.chars().rev().map(|c| format!("{q}{c}")).collect()
}

/// How long a crawl's lease on its target holds unrenewed. Checkpoints renew it, and so does a
/// long page (photos) every third of it; a crawl that sits out a longer flood wait can be taken
/// over meanwhile, and then stops when it wakes.
const LEASE_TTL: Duration = Duration::from_secs(600);

/// The cache's answer: a finished crawl of the target within the TTL (unless `--refresh`).
pub(super) fn cached(rec: Option<&CrawlRecord>, opts: &Options, started: Instant) -> Option<Summary> {
    let rec = rec.filter(|_| !opts.refresh)?;
    let fresh = rec.finished_at.is_some_and(|t| now_millis() - t < opts.cache_ttl.as_millis() as i64);
    (rec.state == State::Done && fresh).then(|| Summary {
        target: opts.target.to_string(),
        title: rec.title.clone(),
        methods: rec.done.clone(),
        counts: Counts { members_seen: rec.counts.members_seen, ..Counts::default() },
        cache_used: true,
        cached_at: rec.finished_at,
        resumed: false,
        cancelled: false,
        elapsed_ms: started.elapsed().as_millis() as u64,
        warnings: Vec::new(),
    })
}

/// Gives a crawl's lease up when dropped, whichever way the crawl ends. The release is queued,
/// not awaited: were it lost, the next crawl would only wait for the lease to lapse.
pub(super) struct Release<'a> {
    pub store: &'a Store,
    pub ctx: WriteCtx,
    pub name: String,
    pub run: u64,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let op = WriteOp::Release { name: std::mem::take(&mut self.name), run: self.run };
        let _ = self.store.submit(self.ctx.clone(), vec![op]);
    }
}

pub(super) fn lease_name(key: &str) -> String {
    format!("crawl {key}")
}

fn lease(key: &str, holder: &Holder) -> WriteOp {
    WriteOp::Lease { name: lease_name(key), holder: holder.clone(), ttl_ms: LEASE_TTL.as_millis() as i64 }
}

/// Takes or renews the lease on `key` for `holder`: Err(why) when another run holds it.
pub(super) async fn take_lease(sink: &Sink<'_>, key: &str, holder: &Holder) -> Result<Result<(), String>, StoreError> {
    let out = sink.store.submit(sink.ctx.clone(), vec![lease(key, holder)])?.done().await?;
    Ok(match out.into_iter().next() {
        Some(Outcome::Denied(why)) => Err(why),
        _ => Ok(()),
    })
}

pub(super) struct Run<'a, 's> {
    pub(super) sink: &'a Sink<'s>,
    pub(super) opts: &'a Options,
    pub(super) key: String,
    pub(super) holder: Holder,
    /// When the lease was last renewed (every save renews it).
    pub(super) renewed: Instant,
    pub(super) rec: Option<CrawlRecord>,
    pub(super) seen: HashSet<u64>,
    pub(super) resumed: bool,
    /// Requests and flood waits of the runs this one resumes.
    pub(super) base_requests: u64,
    pub(super) base_floods: u64,
}

impl Run<'_, '_> {
    pub(super) async fn go<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        previous: Option<CrawlRecord>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let resumable = previous.filter(|r| r.state != State::Done && !r.plan.is_empty() && !self.opts.refresh);
        self.resumed = resumable.is_some();
        let mut rec = match resumable {
            Some(rec) => rec,
            None => {
                let info = match pool.call(Which::Main, &Request::Info, progress).await? {
                    Reply::Info(info) => info,
                    _ => return Err(PoolError::Telegram(TgError::Rpc("unexpected answer".into())).into()),
                };
                let mut rec = empty_record(self.opts, &self.sink.ctx.actor);
                rec.title = info.title.clone();
                rec.plan = match self.opts.method {
                    Some(m) => vec![m],
                    None => plan(&info),
                };
                if self.opts.method == Some(Method::Participants) && info.members.is_some_and(|n| n > PARTICIPANTS_CAP)
                {
                    rec.warnings.push(format!(
                        "Telegram lists at most {PARTICIPANTS_CAP} of the {} members; --method search reaches the rest",
                        info.members.unwrap_or_default()
                    ));
                }
                rec
            }
        };
        rec.state = State::Running;
        rec.error = None;
        self.seen = rec.seen.iter().copied().collect();
        self.base_requests = rec.counts.requests;
        self.base_floods = rec.counts.flood_waits;
        self.resumed |= self.base_requests > 0;
        progress(Event::Started { title: rec.title.clone(), methods: rec.plan.clone(), resumed: self.resumed });
        self.rec = Some(rec);
        self.checkpoint(pool, Vec::new(), progress).await?;

        let mut i = 0;
        while let Some(method) = self.rec.as_ref().and_then(|r| r.plan.get(i).copied()) {
            i += 1;
            if self.rec.as_ref().is_some_and(|r| r.done.contains(&method)) {
                continue;
            }
            progress(Event::Method(method));
            match self.method(pool, method, progress).await {
                Ok(()) => {}
                Err(Halt::Pool(PoolError::Telegram(e))) if self.opts.method.is_none() => match fallback(method, &e) {
                    Some(next) => {
                        let rec = self.rec_mut();
                        rec.warnings.push(format!("{}: {e}; trying {}", method.as_str(), next.as_str()));
                        if !rec.plan.contains(&next) {
                            rec.plan.push(next);
                        }
                        rec.position = Position::Start;
                        continue;
                    }
                    None => return Err(PoolError::Telegram(e).into()),
                },
                Err(e) => return Err(e),
            }
            let rec = self.rec_mut();
            rec.done.push(method);
            rec.position = Position::Start;
            self.checkpoint(pool, Vec::new(), progress).await?;
        }
        Ok(())
    }

    fn rec_mut(&mut self) -> &mut CrawlRecord {
        self.rec.get_or_insert_with(|| empty_record(self.opts, &self.sink.ctx.actor))
    }

    async fn method<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        method: Method,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        match method {
            Method::Participants => self.list(pool, Which::Main, ParticipantFilter::Recent, progress).await,
            Method::Admins => self.list(pool, Which::Main, ParticipantFilter::Admins, progress).await,
            Method::Linked => self.list(pool, Which::Linked, ParticipantFilter::Recent, progress).await,
            Method::Search => self.search(pool, progress).await,
            Method::History => self.history(pool, progress).await,
        }
    }

    /// Pages one filter from the checkpointed offset.
    async fn list<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        which: Which,
        filter: ParticipantFilter,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let mut offset = match self.rec_mut().position {
            Position::Offset(o) => o,
            _ => 0,
        };
        loop {
            let req = Request::Participants { filter: filter.clone(), offset, limit: PARTICIPANTS_PAGE };
            let Reply::Participants(page) = pool.call(which, &req, progress).await? else { return Ok(()) };
            let n = page.members.len() as u32;
            offset += n;
            self.rec_mut().position = Position::Offset(offset);
            self.take(pool, page.members, progress).await?;
            if n == 0 || u64::from(offset) >= page.total.min(PARTICIPANTS_CAP) {
                return Ok(());
            }
        }
    }

    async fn search<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let (mut pending, mut current) = match std::mem::take(&mut self.rec_mut().position) {
            Position::Search { pending, current } => (pending, current),
            _ => (extensions(""), None),
        };
        loop {
            let (q, offset) = match current.take() {
                Some(c) => c,
                None => match pending.pop() {
                    Some(q) => (q, 0),
                    None => return Ok(()),
                },
            };
            let req = Request::Participants {
                filter: ParticipantFilter::Search(q.clone()),
                offset,
                limit: PARTICIPANTS_PAGE,
            };
            let Reply::Participants(page) = pool.call(Which::Main, &req, progress).await? else { return Ok(()) };
            let n = page.members.len() as u32;
            let saturated = page.total >= PARTICIPANTS_CAP;
            let deep = q.chars().count() >= MAX_QUERY_CHARS;
            if saturated && !deep && offset == 0 {
                // Paging a saturated query cannot reach everyone; its longer prefixes can.
                pending.extend(extensions(&q));
            } else if n > 0 && u64::from(offset + n) < page.total.min(PARTICIPANTS_CAP) {
                current = Some((q.clone(), offset + n));
            } else if saturated {
                self.rec_mut().warnings.push(format!("the search {q:?} still matches over {PARTICIPANTS_CAP} members"));
            }
            self.rec_mut().position = Position::Search { pending: pending.clone(), current: current.clone() };
            self.take(pool, page.members, progress).await?;
        }
    }

    async fn history<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let (mut offset_id, mut read) = match self.rec_mut().position {
            Position::History { offset_id, read } => (offset_id, read),
            _ => (0, 0),
        };
        while read < self.opts.history_depth {
            let limit = HISTORY_PAGE.min(self.opts.history_depth - read);
            let Reply::History(page) = pool.call(Which::Main, &Request::History { offset_id, limit }, progress).await?
            else {
                return Ok(());
            };
            read += page.messages;
            let next = page.next_offset_id;
            offset_id = next.unwrap_or(offset_id);
            self.rec_mut().position = Position::History { offset_id, read };
            self.take(pool, page.authors, progress).await?;
            if next.is_none() || page.messages == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Upserts the members not seen before in this crawl, with the checkpoint, in one write.
    async fn take<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        members: Vec<Member>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let mut ops = Vec::new();
        let title = self.rec_mut().title.clone();
        let account = pool.last_account().map(str::to_string);
        for m in members {
            if !self.seen.insert(m.user_id) {
                continue;
            }
            // Writing to the lead later needs this account's access hash for them.
            if let (Some(account), Some(access_hash), false) = (&account, m.access_hash, m.bot || m.deleted) {
                let user = crate::telegram::UserRef { user_id: m.user_id, access_hash };
                ops.push(WriteOp::Talk(crate::store::TalkOp::Peer { account: account.clone(), user }));
            }
            let counts = &mut self.rec_mut().counts;
            counts.members_seen += 1;
            if m.deleted {
                counts.skipped_deleted += 1;
                continue;
            }
            if m.bot {
                counts.skipped_bots += 1;
                continue;
            }
            let photo = match (self.opts.photos, m.photo) {
                (true, Some(p)) => self.photo(pool, p, progress).await?,
                _ => None,
            };
            let input = LeadInput {
                telegram_user_id: Some(m.user_id.to_string()),
                username: m.username.filter(|u| normalize::normalize_username(u).is_ok()),
                phone: m.phone.map(|p| format!("+{}", p.trim_start_matches('+'))),
                first_name: Some(m.first_name),
                last_name: Some(m.last_name),
                language: m.lang_code.filter(|l| normalize::normalize_language(l).is_ok()),
                photo,
                group: Some(title.clone()),
                ..LeadInput::default()
            };
            match input.validate(Source::Crawling, None) {
                Ok(mut cand) => {
                    cand.sighting = true;
                    ops.push(WriteOp::Upsert(cand));
                }
                Err(e) => {
                    let rec = self.rec_mut();
                    rec.counts.skipped_invalid += 1;
                    rec.warnings.push(format!("user {}: {e}", m.user_id));
                }
            }
        }
        self.checkpoint(pool, ops, progress).await
    }

    async fn photo<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        p: crate::telegram::PhotoRef,
        progress: &mut dyn FnMut(Event),
    ) -> Result<Option<String>, Halt> {
        self.keep_lease().await?;
        let (bytes, ext) = match pool.call(Which::Main, &Request::Photo(p), progress).await {
            Ok(Reply::Photo(b, ext)) => (b, ext),
            // A photo that went away is not worth failing the crawl for.
            Ok(_) | Err(PoolError::Telegram(TgError::NotFound)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let rel = format!("photos/{}/{}.{ext}", workspace_dir(&self.sink.ctx.workspace), p.user_id);
        let path = self.sink.data_dir.join(&rel);
        let write = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::write(&path, bytes).await
        };
        match write.await {
            Ok(()) => {
                self.rec_mut().counts.photos += 1;
                Ok(Some(rel))
            }
            Err(e) => {
                self.rec_mut().warnings.push(format!("saving a photo to {}: {e}", path.display()));
                Ok(None)
            }
        }
    }

    /// Writes `ops` and the crawl record in one transaction, then reports progress.
    async fn checkpoint<S: TelegramSource>(
        &mut self,
        pool: &Pool<S>,
        ops: Vec<WriteOp>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let seen: Vec<u64> = self.seen.iter().copied().collect();
        let (requests, flood_waits) = (self.base_requests + pool.requests, self.base_floods + pool.flood_waits);
        let rec = self.rec_mut();
        rec.counts.requests = requests;
        rec.counts.flood_waits = flood_waits;
        rec.seen = seen;
        let rec = rec.clone();
        let outcomes = self.save(ops, &rec).await?;
        let counts = &mut self.rec_mut().counts;
        let mut touched = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Created { id } | Outcome::Updated { id, .. } => {
                    touched.push(id);
                    if matches!(o, Outcome::Created { .. }) {
                        counts.created += 1;
                    } else {
                        counts.updated += 1;
                    }
                }
                Outcome::Unchanged { .. } => counts.unchanged += 1,
                Outcome::Rejected(_) | Outcome::Denied(_) => counts.skipped_invalid += 1,
                Outcome::Deleted { .. } | Outcome::Recorded { .. } => {}
            }
        }
        progress(Event::Progress(counts.clone()));
        if !touched.is_empty() {
            progress(Event::Leads(touched));
        }
        Ok(())
    }

    /// Renews the lease when a page takes long (a photo per member) and no save has renewed it.
    async fn keep_lease(&mut self) -> Result<(), Halt> {
        if self.renewed.elapsed() < LEASE_TTL / 3 {
            return Ok(());
        }
        take_lease(self.sink, &self.key, &self.holder).await?.map_err(Halt::Denied)?;
        self.renewed = Instant::now();
        Ok(())
    }

    /// Writes `ops` and the record while this run holds the lease: one that has lost it (another
    /// crawl took over after it lapsed) writes nothing and stops.
    pub(super) async fn save(&mut self, ops: Vec<WriteOp>, rec: &CrawlRecord) -> Result<Vec<Outcome>, Halt> {
        let mut all = Vec::with_capacity(ops.len() + 2);
        all.push(lease(&self.key, &self.holder));
        all.extend(ops);
        all.push(WriteOp::record(RecordKind::Crawl, &self.key, rec));
        let out = self.sink.store.submit(self.sink.ctx.clone(), all)?.done().await?;
        if let Some(Outcome::Denied(why)) = out.first() {
            return Err(Halt::Denied(why.clone()));
        }
        self.renewed = Instant::now();
        // The lease's outcome and the record's are not the caller's.
        let mut out: Vec<Outcome> = out.into_iter().skip(1).collect();
        out.pop();
        Ok(out)
    }
}
