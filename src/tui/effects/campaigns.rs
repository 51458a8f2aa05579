//! The campaigns panel's store work: a reader on the blocking pool for the list and the dry runs
//! (a burst of record changes costs one read of the list), and one job per write (create,
//! launch, pause, resume, cancel), each answering with a typed message. The campaigns' new
//! figures reach the panel through the change feed, as every record change does.

use std::sync::mpsc::{Receiver, SyncSender};

use super::Executor;
use crate::campaign::{audience, CampaignState};
use crate::jobs::Kind;
use crate::store::{Scope, Store, WriteCtx};
use crate::tui::msg::{CampaignDraft, Event, Msg};
use crate::tui::panels::campaigns::PREVIEW_KEEP;

pub enum CampaignRead {
    /// The workspace's campaigns.
    List(String),
    /// A dry run of a campaign, read through the view's scope.
    Preview(Box<Scope>, u64),
}

/// Reads the list and the dry runs. Only the newest of each kind waiting is read, the list first:
/// it is quick, and a dry run over a large audience is not.
pub fn reader(store: &Store, jobs: &Receiver<CampaignRead>, out: &SyncSender<Event>) {
    while let Ok(first) = jobs.recv() {
        let (mut list, mut preview) = (None, None);
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            match job {
                CampaignRead::List(ws) => list = Some(ws),
                CampaignRead::Preview(scope, id) => preview = Some((scope, id)),
            }
        }
        if let Some(ws) = list {
            let msg = Msg::Campaigns(store.campaigns(&ws).map_err(|e| e.to_string()));
            if out.send(Event::Msg(msg)).is_err() {
                return;
            }
        }
        if let Some((scope, id)) = preview {
            let result = dry_run(store, &scope, id).map(Box::new).map_err(|e| format!("{e:#}"));
            if out.send(Event::Msg(Msg::CampaignPreview { id, result })).is_err() {
                return;
            }
        }
    }
}

fn dry_run(store: &Store, scope: &Scope, id: u64) -> anyhow::Result<audience::DryRun> {
    let c = store.campaign(&scope.workspace, id)?.ok_or_else(|| anyhow::anyhow!("campaign #{id} is gone"))?;
    // The runner's own limits apply on top of the campaign's caps. The TUI is not given the
    // `[messages]` config, so the estimate uses its defaults.
    let limits = crate::config::MessagesConfig::default();
    let now = crate::model::now_millis();
    audience::dry_run(store, scope, &c, now, limits.first_contacts_per_day, limits.pacing_ms, PREVIEW_KEEP)
}

const NOT_LOADED: &str = "the view is still loading; try again in a moment";

impl Executor {
    pub(super) fn list_campaigns(&self, ctx: &WriteCtx) {
        let _ = self.campaigns.send(CampaignRead::List(ctx.workspace.clone()));
    }

    pub(super) fn preview_campaign(&self, id: u64) -> Vec<Msg> {
        match self.publish.scope_now() {
            Some(scope) => {
                let _ = self.campaigns.send(CampaignRead::Preview(Box::new(scope), id));
                Vec::new()
            }
            None => vec![Msg::CampaignPreview { id, result: Err(NOT_LOADED.into()) }],
        }
    }

    /// Checks the draft against the view's leads and stores it; a refusal comes back to the form.
    pub(super) fn create_campaign(&mut self, ctx: WriteCtx, new: CampaignDraft) -> Vec<Msg> {
        let Some(scope) = self.publish.scope_now() else { return vec![Msg::CampaignCreated(Err(NOT_LOADED.into()))] };
        let (store, publish) = (self.store.clone(), self.publish.clone());
        self.jobs.spawn(Kind::Write, move |_| {
            let CampaignDraft { name, audience, steps, accounts, pacing } = new;
            let draft = audience::Draft { name, audience, steps, accounts, pacing };
            let result = audience::create(&store, &scope, &ctx, draft).map(Box::new).map_err(|e| format!("{e:#}"));
            publish.tell(Msg::CampaignCreated(result));
        });
        Vec::new()
    }

    /// Writes the recipients in chunks, telling each chunk (a few per million leads), then starts it.
    pub(super) fn launch_campaign(&mut self, ctx: WriteCtx, id: u64) -> Vec<Msg> {
        let Some(scope) = self.publish.scope_now() else {
            return vec![Msg::CampaignDone { id, result: Err(NOT_LOADED.into()) }];
        };
        let (store, publish) = (self.store.clone(), self.publish.clone());
        self.jobs.spawn(Kind::Write, move |_| {
            let at = crate::model::now_millis();
            let tell = |done, total| publish.tell(Msg::CampaignLaunch { id, done, total });
            let result = audience::launch(&store, &ctx, &scope, id, at, tell)
                .map(|c| {
                    format!("campaign {:?} launched: {} recipients; the runners send it", c.name, c.tally.all.total())
                })
                .map_err(|e| format!("launch failed: {e:#}"));
            publish.tell(Msg::CampaignDone { id, result });
        });
        Vec::new()
    }

    pub(super) fn set_campaign_state(&mut self, ctx: WriteCtx, id: u64, state: CampaignState) {
        let (store, publish) = (self.store.clone(), self.publish.clone());
        self.jobs.spawn(Kind::Write, move |_| {
            let at = crate::model::now_millis();
            let result = audience::set_state(&store, &ctx, id, state, at)
                .map_err(|e| format!("{e:#}"))
                .and_then(|()| store.campaign(&ctx.workspace, id).map_err(|e| e.to_string()))
                .map(|c| match c {
                    Some(c) => format!("campaign {:?} is {}", c.name, c.state),
                    None => format!("campaign #{id} is {state}"),
                });
            publish.tell(Msg::CampaignDone { id, result });
        });
    }
}
