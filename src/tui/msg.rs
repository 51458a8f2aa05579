//! What flows through the TUI: `Event`s in (keys, and `Msg`s: typed facts from workers), and
//! `Effect`s out (work for the executor). `update` turns the first into the second.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossterm::event::Event as TermEvent;

use super::place::Place;
use crate::crawl::{Method, Summary};
use crate::model::{Activity, Facet, Lead, MatchKey, Message, Priority, Segment, Status};
use crate::store::Filter;
use crate::workspace::{View, Workspace};

#[derive(Debug, Clone)]
pub enum Event {
    Term(TermEvent),
    Msg(Msg),
}

/// One account as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub phone: String,
    pub backend: String,
    pub health: crate::crawl::backend::Health,
}

/// What the login asks of the person at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Code {
        phone: String,
    },
    Password {
        hint: Option<String>,
    },
    /// A wrong code or password; the next question follows.
    Retry(String),
}

/// A past crawl of this workspace, for the panel's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastCrawl {
    pub target: String,
    pub title: String,
    pub state: crate::crawl::State,
    pub members: u64,
    pub finished_at: Option<crate::model::Millis>,
}

/// A running crawl's figures, kept as a latest value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlTick {
    pub counts: crate::crawl::Counts,
    /// Every account is waiting: seconds until the crawl resumes by itself.
    pub waiting: Option<u64>,
}

/// Lead counts per facet value.
pub type Facets = BTreeMap<Facet, u64>;

/// Facts from workers. Search results and loads carry the generation they answer; stale ones are dropped.
#[derive(Debug, Clone)]
pub enum Msg {
    /// The leads of a workspace; `generation` drops a load that a later switch overtook.
    Loaded {
        generation: u64,
        place: Place,
        /// What the view may show; the executor reads every later change through it.
        scope: Box<crate::store::Scope>,
        leads: super::rows::Rows,
        facets: BTreeMap<Facet, u64>,
    },
    /// How many leads a running load has read.
    LoadProgress {
        generation: u64,
        done: usize,
    },
    /// The workspaces the user may switch to: (label, workspace).
    Workspaces(Vec<(String, Workspace)>),
    SearchDone {
        generation: u64,
        ids: Vec<u64>,
        /// The full ranking; false for the first ranking a long scan shows early.
        last: bool,
    },
    /// The full lead and its history, for the detail pane and the edit form.
    Detail {
        lead: Box<Lead>,
        entries: Vec<Activity>,
    },
    Photo {
        id: u64,
        image: Result<Arc<image::DynamicImage>, String>,
    },
    /// A lead's thread, oldest first, or why it could not be read.
    Thread {
        lead: u64,
        messages: Result<Vec<Message>, String>,
    },
    /// The threads of these leads changed (a message arrived, was sent, read, edited), by anyone.
    ThreadsChanged(Vec<u64>),
    /// The workspace's Telegram accounts as the store holds them now, read for load `generation`.
    Senders {
        generation: u64,
        accounts: Vec<crate::crawl::account::AccountRecord>,
    },
    /// The composer's message is in the outbox as message `id`.
    Queued {
        lead: u64,
        account: String,
        id: u64,
    },
    /// The store refused the composer's message, saying why.
    SendRefused(String),
    /// The detail worker could not read the lead: it is gone (deleted elsewhere), or the store failed.
    DetailFailed {
        id: u64,
        gone: bool,
        why: String,
    },
    /// The one way leads enter the model: a newer version of the workspace's shared rows (see
    /// `super::live`), with the ids that changed or left the workspace since the version the view
    /// holds. The view applies its own scope to them.
    LeadsChanged {
        /// The load whose workspace they are; a view that has moved on drops them.
        generation: u64,
        rows: super::rows::Rows,
        changed: Vec<u64>,
        gone: Vec<u64>,
    },
    /// The newest version whole, with its facet counts in the view's scope: the view fell further
    /// behind than the list of changes reaches, or the workspace was read again.
    LeadsReloaded {
        generation: u64,
        rows: super::rows::Rows,
        facets: Facets,
    },
    /// A load was refused or failed.
    LoadFailed {
        generation: u64,
        why: String,
    },
    /// A crawl's facts (it started, switched method, an account hit a flood wait).
    Crawl(crate::crawl::Event),
    CrawlTick(CrawlTick),
    CrawlDone(Result<Summary, String>),
    Crawls(Vec<PastCrawl>),
    Segments {
        segments: Vec<Segment>,
        counts: Vec<u64>,
    },
    /// Directory entries for Tab completion of `typed` (directories end in `/`).
    Completions {
        typed: String,
        entries: Vec<String>,
    },
    /// A file's preview: what reach detected and a dry run's counts.
    ImportPreview(Result<(Box<crate::import::Inspection>, crate::import::Counts), String>),
    ImportProgress(crate::import::ImportProgress),
    ImportDone(Result<Box<crate::import::ImportSummary>, String>),
    /// The form's lead was written: created, merged into an existing lead, or edited.
    FormSaved {
        lead: Box<Lead>,
        created: bool,
        matched_on: Option<MatchKey>,
    },
    /// The store refused the form's lead (a rule, or an identifier another lead holds).
    FormRefused(String),
    /// The Telegram accounts with their health.
    Accounts(Vec<AccountRow>),
    /// The running login asks for a code or a password, or refused an answer.
    LoginAsk(Ask),
    /// The login ended: what happened, or why it failed.
    LoginDone(Result<String, String>),
    /// Records of the view's workspace (or the data dir's accounts) changed, by anyone.
    RecordsChanged(Vec<crate::store::RecordKind>),
    /// The store's change feed moved past what this view had read: it loads again.
    FeedBehind,
    /// The workspace's shared leads stopped following the store (why): the view loads again.
    LiveFailed(String),
    /// A job or worker panicked; a worker has been started again.
    JobFailed {
        kind: crate::jobs::Kind,
        why: String,
    },
    /// The workspace's campaigns as the store holds them now, or why they could not be read.
    Campaigns(Result<Vec<crate::campaign::Campaign>, String>),
    /// The panel's form was stored as a draft, or refused (a template naming a missing field).
    CampaignCreated(Result<Box<crate::campaign::Campaign>, String>),
    /// A dry run of campaign `id`: the first rendered messages and the summary.
    CampaignPreview {
        id: u64,
        result: Result<Box<crate::campaign::audience::DryRun>, String>,
    },
    /// A launch wrote `done` of `total` recipients.
    CampaignLaunch {
        id: u64,
        done: u64,
        total: u64,
    },
    /// A launch, pause, resume or cancel of campaign `id` ended: what happened, or why not.
    CampaignDone {
        id: u64,
        result: Result<String, String>,
    },
    /// Something worth telling that is not an error.
    Notice(String),
    Error(String),
}

/// A campaign as the panel's form asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDraft {
    pub name: String,
    pub audience: crate::campaign::Audience,
    pub steps: Vec<crate::campaign::Step>,
    /// Empty: every account of the workspace that can send.
    pub accounts: Vec<String>,
    pub pacing: crate::campaign::Pacing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Search {
        generation: u64,
        query: String,
        /// The ids passing the view's filters, sorted; None: every lead may match.
        within: Option<Arc<Vec<u64>>>,
    },
    /// Read the full lead and its history from the store.
    LoadDetail(u64),
    /// Read the lead's thread.
    LoadThread(u64),
    /// The thread was opened: its unread messages are read (`receipt`: tell Telegram too).
    MarkRead {
        lead: u64,
        receipt: bool,
    },
    /// Queue a message to the lead from `account`.
    SendMessage {
        lead: u64,
        account: String,
        text: String,
    },
    DoNotContact {
        id: u64,
        value: bool,
    },
    SetStatus {
        ids: Vec<u64>,
        status: Status,
    },
    SetPriority {
        ids: Vec<u64>,
        priority: Priority,
    },
    /// Load a workspace in a view, and remember it as the user's current one.
    Switch {
        generation: u64,
        workspace: Workspace,
        view: View,
        remember: bool,
    },
    Delete {
        ids: Vec<u64>,
    },
    AddNote {
        id: u64,
        text: String,
    },
    /// Write these leads (the current view, in order) to a CSV file.
    Export {
        ids: Vec<u64>,
    },
    /// Tags to add and to remove.
    EditTags {
        ids: Vec<u64>,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Write a form: a new lead through the dedup upsert (id None), or an edit.
    SaveLead {
        id: Option<u64>,
        input: Box<crate::model::LeadInput>,
        /// For an edit: each changed field with the text it had when the form opened.
        expect: Vec<(&'static str, String)>,
    },
    /// List the directory of a typed path, for Tab completion.
    CompletePath(String),
    PreviewImport(String),
    /// Stop the running preview (Esc went back from it).
    CancelPreview,
    RunImport(String),
    CancelImport,
    SaveSegment(Segment),
    DeleteSegment(String),
    /// Load the workspace's segments and count them within the view's base filter.
    CountSegments {
        base: Filter,
    },
    StartCrawl {
        target: crate::telegram::Target,
        method: Option<Method>,
    },
    CancelCrawl,
    LoadCrawls,
    /// List the accounts and check their health.
    LoadAccounts,
    /// Log an account in (adding it when new), asking through `Msg::LoginAsk`.
    StartLogin {
        name: String,
        phone: String,
    },
    /// The answer to the login's question; None gives up.
    LoginAnswer(Option<String>),
    /// Read the workspace's campaigns.
    LoadCampaigns,
    /// Check a campaign against the view's leads and store it as a draft (`audience::create`).
    CreateCampaign(Box<CampaignDraft>),
    /// A dry run of the campaign, keeping the first few rendered messages.
    PreviewCampaign(u64),
    /// Write the campaign's recipients and start it.
    LaunchCampaign(u64),
    /// Pause, resume or cancel.
    SetCampaignState {
        id: u64,
        state: crate::campaign::CampaignState,
    },
}
