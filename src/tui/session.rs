//! One user's TUI: the model, the executor behind it, and the channel its workers answer on. It
//! draws on any ratatui backend, so the same session runs on this terminal, on a test backend, or
//! (later) on an SSH channel.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};

use super::effects::{Executor, Settings};
use super::keymap::Keymap;
use super::model::{Model, Place};
use super::msg::{Effect, Event, Msg};
use super::update::update;
use crate::store::Store;
use crate::workspace::{View, Workspace};

/// The shortest time between two draws (60 frames a second).
const FRAME: std::time::Duration = std::time::Duration::from_millis(16);
/// How often the progress of running jobs is looked at.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Events waiting for the UI beyond this make input and workers wait: back-pressure, not memory.
const QUEUE: usize = 4096;

pub struct Session {
    exec: Executor,
    model: Model,
    rx: Receiver<Event>,
}

/// Runs one event through `update`, and the effects it asks for; what an effect must tell at
/// once goes through `update` too, never through the UI's own channel.
fn handle(exec: &mut Executor, model: &mut Model, ev: Event) {
    let mut queue = VecDeque::from([ev]);
    while let Some(ev) = queue.pop_front() {
        if let Event::Msg(Msg::Loaded { generation, scope, .. }) = &ev {
            if *generation == model.load_generation {
                exec.accept(scope);
            }
        }
        for effect in update(model, ev) {
            queue.extend(exec.perform(effect).into_iter().map(Event::Msg));
        }
    }
}

impl Session {
    /// Starts the workers and the first load on `rt`, the process's runtime; nothing is drawn yet.
    pub fn start(
        rt: tokio::runtime::Handle,
        store: Store,
        user: String,
        workspace: Workspace,
        view: View,
        keys: Keymap,
        settings: Settings,
    ) -> Session {
        let (tx, rx) = mpsc::sync_channel::<Event>(QUEUE);
        let (default_region, local_files) = (settings.default_region.clone(), settings.local_files);
        let exec = Executor::start(rt, store, user.clone(), &workspace, settings, tx);
        let mut model = Model::new(Place::new(workspace.clone(), view), user);
        model.keymap = keys;
        model.default_region = default_region;
        model.local_files = local_files;
        // Half blocks work in every terminal and over any SSH session. Graphics protocols would need
        // ratatui-image's stdin query, and on a terminal that never answers (tmux, many SSH clients)
        // its reader is left blocked on stdin and swallows the first keys typed.
        model.picker = Some(ratatui_image::picker::Picker::halfblocks());
        let mut session = Session { exec, model, rx };
        // The first screen draws at once; leads and the search index load behind it.
        let first = Effect::Switch { generation: session.model.load_generation, workspace, view, remember: false };
        let told = session.exec.perform(first);
        for msg in told {
            handle(&mut session.exec, &mut session.model, Event::Msg(msg));
        }
        session
    }

    /// Where input goes: a terminal reader, an SSH channel, or a script.
    pub fn events(&self) -> SyncSender<Event> {
        self.exec.events()
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether opening a thread also tells Telegram it was read (config
    /// `telegram.send_read_receipts`; on unless told). Not a `Settings` field: the CLI and the
    /// bench build `Settings` by its fields.
    pub fn read_receipts(&mut self, on: bool) {
        self.model.read_receipts = on;
    }

    #[cfg(test)]
    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    /// Draws, then waits for events, drains every pending one through `update`, performs the
    /// effects, and draws once more; until the user quits. `after_draw` sees each drawn state and
    /// may end the loop by answering false.
    pub fn run_on<B: ratatui::backend::Backend>(
        &mut self,
        terminal: &mut ratatui::Terminal<B>,
        after_draw: &mut dyn FnMut(&Model) -> bool,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        let Session { exec, model, rx } = self;
        loop {
            let size = terminal.size()?;
            model.page = size.height.saturating_sub(7) as usize;
            model.now = crate::model::now_millis();
            terminal.draw(|f| super::ui::draw(model, f))?;
            let drawn = std::time::Instant::now();
            if !after_draw(model) {
                return Ok(());
            }
            // While a job reports progress, wake up to look at it even when nothing else happens.
            let first = if exec.has_progress() {
                match rx.recv_timeout(PROGRESS_EVERY) {
                    Ok(ev) => Some(ev),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            } else {
                match rx.recv() {
                    Ok(ev) => Some(ev),
                    Err(_) => return Ok(()),
                }
            };
            for ev in first.into_iter().chain(rx.try_iter().collect::<Vec<_>>()) {
                handle(exec, model, ev);
            }
            // The frame cap: events that arrive within a frame of the last draw are taken into
            // the next one, so a busy crawl or import cannot make the UI draw thousands of times.
            while let Some(left) = FRAME.checked_sub(drawn.elapsed()).filter(|_| !model.quit) {
                match rx.recv_timeout(left) {
                    Ok(ev) => {
                        handle(exec, model, ev);
                        for ev in rx.try_iter().collect::<Vec<_>>() {
                            handle(exec, model, ev);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
            for msg in exec.poll() {
                handle(exec, model, Event::Msg(msg));
            }
            if model.quit {
                return Ok(());
            }
        }
    }
}
