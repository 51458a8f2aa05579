//! Reading a workspace into list rows and search entries, and the small file-system helpers.

use crate::search::Entry;
use crate::store::{OrgOp, Scope, Store, WriteCtx, WriteOp};
use crate::tui::model::Place;
use crate::tui::rows::{Row, Rows, Strings};
use crate::workspace::{View, Workspace};

/// How many leads a load reads between two progress messages.
const LOAD_PROGRESS_EVERY: usize = 100_000;

/// A workspace's place and scope, its leads as list rows, and their search entries: made in one
/// pass over the store, so no full copy of the leads is ever held.
pub struct Loaded {
    pub place: Place,
    pub scope: Scope,
    pub rows: Rows,
    pub entries: Vec<Entry>,
}

pub fn load_place(
    store: &Store,
    user: &str,
    ws: &Workspace,
    view: View,
    remember: bool,
    scoped: impl FnOnce(&Scope),
    progress: impl Fn(usize),
) -> Result<Loaded, String> {
    let scope: Scope = store.scope(user, ws, view).map_err(|e| e.to_string())?.map_err(|d| d.to_string())?;
    // Told before the scan, so what is written while it runs is read through this scope.
    scoped(&scope);
    let place = Place { label: ws.to_string(), workspace: ws.clone(), access: Some(scope.access), view };
    // Reserved for every lead in the store: pages never touched cost no memory, and the vectors
    // don't move while a large load fills them. Capped: a small workspace in a huge store should
    // not reserve address space for all of it.
    let bound = (store.total_leads().map_err(|e| e.to_string())? as usize).min(1 << 20);
    let (mut list, mut entries) = (Vec::with_capacity(bound), Vec::with_capacity(bound));
    let mut strings = Strings::default();
    store
        .scan(&scope.workspace, &scope.filter(&Default::default()), |l| {
            list.push(Row::of(&l, &mut strings));
            entries.push(Entry::of(&l));
            if list.len() % LOAD_PROGRESS_EVERY == 0 {
                progress(list.len());
            }
        })
        .map_err(|e| e.to_string())?;
    let rows = Rows::new(list, strings);
    if remember {
        let ctx = WriteCtx { workspace: String::new(), actor: user.to_string() };
        store.write_one(ctx, WriteOp::Org(OrgOp::Use { workspace: ws.key() })).map_err(|e| e.to_string())?;
    }
    Ok(Loaded { place, scope, rows, entries })
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
