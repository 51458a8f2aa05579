//! Opening a workspace's shared leads for a view and following their versions, and the small
//! file-system helpers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use super::publish::Publisher;
use crate::jobs::Cancel;
use crate::store::{OrgOp, Scope, Store, WriteCtx, WriteOp};
use crate::tui::live::{LiveSet, LiveSets, Phase, Since, Version};
use crate::tui::model::Place;
use crate::tui::msg::{Facets, Msg};
use crate::tui::rows::Rows;
use crate::workspace::{View, Workspace};

/// How often a waiting load looks at its progress, and a follower whether its view is gone.
const TICK: Duration = Duration::from_millis(100);

/// A workspace's place and scope, and the version of its shared leads the view starts from.
pub struct Loaded {
    pub place: Place,
    pub scope: Scope,
    pub live: Arc<LiveSet>,
    pub version: Version,
    /// Woken after every newer version (subscribed before `version` was taken).
    pub woken: Receiver<()>,
}

/// The rules decide through `Store::scope`; then the workspace's shared set is opened (scanned
/// by its updater if nobody viewed it yet) and waited for. None: cancelled by a newer load.
#[allow(clippy::too_many_arguments)]
pub fn load_place(
    store: &Store,
    sets: &LiveSets,
    user: &str,
    ws: &Workspace,
    view: View,
    remember: bool,
    scoped: impl FnOnce(&Scope),
    progress: impl Fn(usize),
    cancel: &Cancel,
) -> Result<Option<Loaded>, String> {
    let scope: Scope = store.scope(user, ws, view).map_err(|e| e.to_string())?.map_err(|d| d.to_string())?;
    scoped(&scope);
    let place = Place { label: ws.to_string(), workspace: ws.clone(), access: Some(scope.access), view };
    let live = sets.open(store, &scope.workspace);
    let mut told = 0;
    loop {
        match live.wait_ready(TICK) {
            Phase::Ready => break,
            Phase::Failed(why) => return Err(why),
            Phase::Loading(done) if done != told => {
                progress(done);
                told = done;
            }
            Phase::Loading(_) => {}
        }
        if cancel.is_cancelled() {
            return Ok(None);
        }
    }
    if remember {
        let ctx = WriteCtx { workspace: String::new(), actor: user.to_string() };
        store.write_one(ctx, WriteOp::Org(OrgOp::Use { workspace: ws.key() })).map_err(|e| e.to_string())?;
    }
    let (wake, woken) = std::sync::mpsc::sync_channel(1);
    live.subscribe(wake);
    let version = live.current();
    Ok(Some(Loaded { place, scope, live, version, woken }))
}

/// Facet counts of the rows `scope` admits.
pub fn facets_in(rows: &Rows, scope: &Scope) -> Facets {
    rows.facet_counts_of(rows.in_scope(scope.created_by.as_deref()))
}

/// Follows the shared set from version `from` until a newer load replaces this one or the session
/// ends: each newer version goes to the model with the ids that changed on the way.
pub struct Follow<'a> {
    pub live: &'a LiveSet,
    pub woken: &'a Receiver<()>,
    pub generation: u64,
    pub scope: &'a Scope,
    pub publish: &'a Publisher,
}

impl Follow<'_> {
    pub fn run(&self, from: u64, cancel: &Cancel, alive: &AtomicBool) {
        let mut at = from;
        while !cancel.is_cancelled() && alive.load(Ordering::Relaxed) {
            if let Err(RecvTimeoutError::Disconnected) = self.woken.recv_timeout(TICK) {
                return;
            }
            let generation = self.generation;
            if let Phase::Failed(why) = self.live.phase() {
                self.publish.tell(Msg::LiveFailed(why));
                return;
            }
            let msg = match self.live.since(at) {
                Since::Same => continue,
                Since::Changed { version, changed, gone } => {
                    at = version.number;
                    self.publish.segments_follow(self.scope, &changed, &gone);
                    Msg::LeadsChanged { generation, rows: version.rows, changed, gone }
                }
                Since::Whole(version) => {
                    at = version.number;
                    let facets = facets_in(&version.rows, self.scope);
                    Msg::LeadsReloaded { generation, rows: version.rows, facets }
                }
            };
            if !self.publish.told(msg) {
                return;
            }
        }
    }
}

/// The workspaces `user` may switch to: personal first, then organizations.
pub fn workspaces(store: &Store, user: &str) -> Result<Vec<(String, Workspace)>, String> {
    let personal = Workspace::Personal(user.to_string());
    let mut list = vec![(personal.to_string(), personal)];
    for org in store.orgs_of(user).map_err(|e| e.to_string())? {
        let role = org.role_of(user).map(|r| r.to_string()).unwrap_or_default();
        list.push((format!("{} ({role})", org.name), Workspace::Org(org.name.to_lowercase())));
    }
    Ok(list)
}

/// `~/x` is the home directory's `x`, as in a shell.
pub fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// The entries of the directory a typed path points into, directories marked with `/`.
pub fn list_dir(typed: &str) -> Vec<String> {
    let (dir, _) = crate::tui::panels::import::split_path(typed);
    let dir = if dir.is_empty() { std::path::PathBuf::from(".") } else { expand_home(dir) };
    let Ok(read) = std::fs::read_dir(&dir) else { return Vec::new() };
    read.flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect()
}

/// Writes whole or not at all: a temp file in the same dir, renamed at the end.
pub fn write_export(
    path: &std::path::Path,
    store: &Store,
    workspace: &str,
    ids: &[u64],
) -> anyhow::Result<(u64, std::path::PathBuf)> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new_in(".")?;
    let n = {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let n = crate::export::export_ids(store, workspace, ids, &mut w)?;
        w.flush()?;
        n
    };
    tmp.persist(path)?;
    Ok((n, std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())))
}
