//! The terminal UI. One thread owns the terminal; input, searches and store work run as jobs on
//! the process's runtime and come back as typed messages on one bounded channel. Each wake-up
//! drains every pending event through the pure `update`, performs the effects, and draws once.
//!
//! - `model`: the state; `msg`: events in, effects out; `update/`: keys and messages into state;
//! - `panels/`: popups and panels, each with its state, keys and drawing; `ui/`: the panes and theme;
//! - `effects/`: the executor and its workers; `session`: the loop that ties them together.

pub mod demo;
pub mod effects;
pub mod keymap;
pub mod live;
pub mod model;
pub mod msg;
pub mod panels;
pub mod place;
pub mod rows;
pub mod session;
pub mod theme;
pub mod ui;
mod update;

pub use effects::Settings;
pub use model::Model;
pub use msg::{Effect, Event, Msg};
pub use session::Session;
pub use update::update;

use std::thread;

/// A session on this process's terminal.
pub fn run(mut session: Session) -> anyhow::Result<()> {
    // try_init installs a panic hook that restores the terminal before the message prints. A job's
    // panic is caught and shown in the status bar instead, so the hook leaves those alone.
    let mut terminal = ratatui::try_init()?;
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::jobs::in_job() {
            restore_and_print(info);
        }
    }));
    {
        let tx = session.events();
        // crossterm's reader blocks on stdin with no way to wake it: a thread of its own, not a
        // job that the runtime would wait for at exit.
        thread::spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(Event::Term(ev)).is_err() {
                    break;
                }
            }
        });
    }
    let result = session.run_on(&mut terminal, &mut |_| true);
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests;
