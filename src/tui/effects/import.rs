//! The import panel's jobs: a preview (the file's head and a dry run's exact counts) and the import
//! itself, whose progress is a latest value; its committed leads reach the view through the feed.

use super::{load, Executor};
use crate::jobs::{self, Kind};
use crate::store::WriteCtx;
use crate::tui::msg::Msg;

impl Executor {
    fn import_options(&self, path: &str) -> crate::import::ImportOptions {
        let data_dir = &self.settings.telegram.data_dir;
        let mut opts =
            crate::import::ImportOptions::new(load::expand_home(path), crate::import::default_report_dir(data_dir));
        opts.default_region = self.settings.default_region.clone();
        opts
    }

    /// Reads the file's head and runs a dry run for exact counts; Esc cancels it.
    pub(super) fn preview_import(&mut self, ctx: WriteCtx, path: String) {
        let (store, publish) = (self.store.clone(), self.publish.clone());
        let mut opts = self.import_options(&path);
        opts.dry_run = true;
        self.jobs.replace(Kind::Preview, move |cancel| {
            let result = crate::import::inspect(&opts).and_then(|inspection| {
                let summary = crate::import::run(&store, &ctx, &opts, cancel.flag(), |_| {})?;
                Ok((Box::new(inspection), summary.counts))
            });
            if !cancel.is_cancelled() {
                publish.tell(Msg::ImportPreview(result.map_err(|e| e.to_string())));
            }
        });
    }

    /// Runs the import; each committed chunk's leads join the view as it lands.
    pub(super) fn run_import(&mut self, ctx: WriteCtx, path: String) {
        let (store, publish) = (self.store.clone(), self.publish.clone());
        let opts = self.import_options(&path);
        let (progress, latest) = jobs::progress();
        self.import_progress = Some(latest);
        self.jobs.spawn(Kind::Import, move |cancel| {
            // Each committed chunk's leads reach the view through the change feed.
            let result = crate::import::run(&store, &ctx, &opts, cancel.flag(), |p| {
                progress.set(crate::import::ImportProgress { touched: Vec::new(), ..p.clone() });
            });
            publish.tell(Msg::ImportDone(result.map(Box::new).map_err(|e| e.to_string())));
        });
    }
}
