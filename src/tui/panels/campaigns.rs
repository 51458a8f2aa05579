//! The campaigns panel (`C`): the workspace's campaigns with their live progress and figures,
//! the selected one's detail (per account, per variant, skips, what each account waits for), a
//! form that creates one from the list's filters and search, a dry run's preview, and the keys
//! that launch, pause, resume and cancel. Pure: the executor reads and writes the store and
//! answers with messages; the campaigns themselves arrive through the change feed.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{Field, Reply};
use crate::campaign::audience::DryRun;
use crate::campaign::pace::{self, Ready};
use crate::campaign::{Audience, Campaign, CampaignState, Counts, Pacing, Step};
use crate::model::{format_age, Millis};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::msg::{CampaignDraft, Effect};
use crate::tui::theme;

/// Rows of rendered messages the preview asks the dry run to keep.
pub const PREVIEW_KEEP: usize = 5;

/// The create form's fields, in order.
pub const FORM_FIELDS: &[&str] = &["Name", "Message", "Follow-up", "Per hour", "Per day", "Accounts"];
const NAME: usize = 0;
const MESSAGE: usize = 1;
const FOLLOW_UP: usize = 2;
const PER_HOUR: usize = 3;
const PER_DAY: usize = 4;
const ACCOUNTS: usize = 5;

/// A new campaign being written: its audience is what the lead list showed when the form opened.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateForm {
    pub audience: Audience,
    /// The audience in words, and how many leads the list showed.
    pub about: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last submit was refused: by the form's own checks or by the store's.
    pub error: Option<String>,
    pub saving: bool,
}

impl CreateForm {
    pub fn new(audience: Audience, about: String) -> CreateForm {
        CreateForm {
            audience,
            about,
            fields: FORM_FIELDS.iter().map(|_| Field::default()).collect(),
            focus: 0,
            error: None,
            saving: false,
        }
    }

    /// The effect that creates the campaign, or what is wrong with the form.
    pub fn submit(&self) -> Result<Effect, String> {
        let name = crate::campaign::validate_name(&self.fields[NAME].text())?;
        let text = self.fields[MESSAGE].text();
        if text.is_empty() {
            return Err("the campaign needs a message".into());
        }
        let mut steps = vec![Step { after_days: 0, text, by_language: Vec::new() }];
        let follow = self.fields[FOLLOW_UP].text();
        if !follow.is_empty() {
            let (days, text) = follow
                .split_once(':')
                .ok_or_else(|| "follow-up: write it as DAYS:TEXT, e.g. 3:Any thoughts, {first_name}?".to_string())?;
            let after_days = days
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| format!("follow-up: {:?} is not a number of days (1 or more)", days.trim()))?;
            if text.trim().is_empty() {
                return Err("follow-up: the text after DAYS: is empty".into());
            }
            steps.push(Step { after_days, text: text.trim().to_string(), by_language: Vec::new() });
        }
        let cap = |i: usize, what: &str| -> Result<Option<u32>, String> {
            let t = self.fields[i].text();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| format!("{what}: {t:?} is not a whole number above 0 (empty: no cap)"))
        };
        let pacing =
            Pacing { per_hour: cap(PER_HOUR, "per hour")?, per_day: cap(PER_DAY, "per day")?, ..Pacing::default() };
        let accounts = self.fields[ACCOUNTS]
            .text()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect();
        let draft = CampaignDraft { name, audience: self.audience.clone(), steps, accounts, pacing };
        Ok(Effect::CreateCampaign(Box::new(draft)))
    }

    fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> FormKey {
        let n = self.fields.len();
        match keys.command(k, &[Scope::Global, Scope::Panel]) {
            Some(Action::Back) => return FormKey::Close,
            Some(Action::NextPane | Action::Down) => self.focus = (self.focus + 1) % n,
            Some(Action::Up) => self.focus = (self.focus + n - 1) % n,
            _ if k.code == KeyCode::BackTab => self.focus = (self.focus + n - 1) % n,
            Some(Action::Open) if !self.saving => match self.submit() {
                Ok(effect) => {
                    self.saving = true;
                    self.error = None;
                    return FormKey::Submit(Box::new(effect));
                }
                Err(why) => self.error = Some(why),
            },
            _ if k.modifiers.contains(KeyModifiers::CONTROL) => {}
            _ => {
                if self.fields[self.focus].type_key(k) {
                    self.error = None;
                }
            }
        }
        FormKey::Stay
    }

    fn draw(&self, f: &mut Frame, area: Rect) {
        let area = theme::centered(area, area.width.min(78), FORM_FIELDS.len() as u16 + 9);
        f.render_widget(Clear, area);
        let hint = " Tab next · Enter create · Esc back ";
        let block = theme::popup(" New campaign ").title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let mut lines: Vec<Line> = FORM_FIELDS
            .iter()
            .zip(&self.fields)
            .enumerate()
            .map(|(i, (label, value))| {
                let style = if i == self.focus { theme::heading() } else { theme::dim() };
                Line::from(vec![Span::styled(format!(" {label:>10} "), style), Span::raw(value.0.value().to_string())])
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!(" to: {}", self.about), theme::dim()));
        lines.push(Line::styled(
            " {first_name|there} fills a field; follow-up as DAYS:TEXT; empty caps and accounts: none, all",
            theme::dim(),
        ));
        match (&self.error, self.saving) {
            (_, true) => lines.push(Line::styled(" checking the templates against the audience…", theme::dim())),
            (Some(why), false) => lines.push(Line::styled(format!(" {why}"), theme::error())),
            (None, false) => {}
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        let x = self.fields[self.focus].0.visual_cursor().min(inner.width.saturating_sub(13) as usize) as u16;
        f.set_cursor_position((inner.x + 12 + x, inner.y + self.focus as u16));
    }
}

enum FormKey {
    Stay,
    Close,
    /// Boxed: an effect is large next to the other answers.
    Submit(Box<Effect>),
}

/// What the panel shows over its list.
#[derive(Debug, Clone, Default)]
pub enum Stage {
    #[default]
    List,
    Create(Box<CreateForm>),
    /// The dry run of this campaign: asked for, or its answer.
    Preview(u64, Option<Result<Box<DryRun>, String>>),
    /// Cancel this campaign? y/n
    ConfirmCancel(u64),
}

/// A launch writing its recipients: (done, total) as the last chunk said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Launching {
    pub id: u64,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default)]
pub struct CampaignsPanel {
    /// The workspace's campaigns as last read, oldest first.
    pub list: Vec<Campaign>,
    pub selected: usize,
    /// A read of the list is on its way (nothing read yet shows "reading…").
    pub loading: bool,
    pub stage: Stage,
    /// A campaign the cursor goes to when it arrives (one just created).
    pub select_id: Option<u64>,
    /// A write on its way to a campaign, in words ("pausing"), so its key is not pressed twice.
    pub busy: Option<(u64, String)>,
    pub launching: Option<Launching>,
    /// The outcome of the last action: its line, and whether it failed.
    pub outcome: Option<(String, bool)>,
    /// What each running campaign's accounts wait for, worked out when the list arrives (it
    /// reads time zones), so that drawing only compares times.
    pub waits: BTreeMap<u64, Vec<(String, Ready)>>,
}

impl CampaignsPanel {
    pub fn selected(&self) -> Option<&Campaign> {
        self.list.get(self.selected)
    }

    /// Opening the panel reads the campaigns again.
    pub fn open(&mut self) -> Vec<Effect> {
        if matches!(self.stage, Stage::ConfirmCancel(_)) {
            self.stage = Stage::List;
        }
        self.loading = true;
        vec![Effect::LoadCampaigns]
    }

    /// The campaigns as the store holds them now; the cursor keeps its campaign.
    pub fn listed(&mut self, result: Result<Vec<Campaign>, String>, now: Millis) {
        self.loading = false;
        match result {
            Ok(list) => {
                self.waits = list
                    .iter()
                    .filter(|c| c.state == CampaignState::Running)
                    .map(|c| (c.id, c.accounts.iter().map(|a| (a.clone(), pace::ready(c, a, now))).collect()))
                    .collect();
                let keep = self.select_id.or(self.selected().map(|c| c.id));
                self.list = list;
                if let Some(at) = keep.and_then(|id| self.list.iter().position(|c| c.id == id)) {
                    self.selected = at;
                    if self.select_id == Some(self.list[at].id) {
                        self.select_id = None;
                    }
                }
                self.selected = self.selected.min(self.list.len().saturating_sub(1));
            }
            Err(why) => self.outcome = Some((format!("cannot read the campaigns: {why}"), true)),
        }
    }

    /// The store stored the form's campaign: its preview shows, and the cursor goes to it.
    pub fn created(&mut self, result: Result<Campaign, String>) -> Vec<Effect> {
        match result {
            Ok(c) => {
                self.select_id = Some(c.id);
                if let Some(at) = self.list.iter().position(|x| x.id == c.id) {
                    self.selected = at;
                }
                self.outcome = Some((format!("campaign {:?} created as a draft; L launches it", c.name), false));
                self.stage = Stage::Preview(c.id, None);
                vec![Effect::PreviewCampaign(c.id)]
            }
            Err(why) => {
                if let Stage::Create(form) = &mut self.stage {
                    form.saving = false;
                    form.error = Some(why.clone());
                } else {
                    self.outcome = Some((why, true));
                }
                Vec::new()
            }
        }
    }

    pub fn previewed(&mut self, id: u64, result: Result<Box<DryRun>, String>) {
        if let Stage::Preview(shown, answer) = &mut self.stage {
            if *shown == id {
                *answer = Some(result);
            }
        }
    }

    pub fn launch_progress(&mut self, id: u64, done: u64, total: u64) {
        self.launching = Some(Launching { id, done, total });
    }

    /// An action on campaign `id` ended: its line for the status bar.
    pub fn done(&mut self, id: u64, result: Result<String, String>) -> (String, bool) {
        if self.busy.as_ref().is_some_and(|(b, _)| *b == id) {
            self.busy = None;
        }
        if self.launching.is_some_and(|l| l.id == id) {
            self.launching = None;
        }
        let line = match result {
            Ok(text) => (text, false),
            Err(why) => (why, true),
        };
        self.outcome = Some(line.clone());
        line
    }

    /// A write failed without an answer (its job died): nothing stays busy.
    pub fn failed(&mut self, why: String) {
        self.busy = None;
        self.launching = None;
        if let Stage::Create(form) = &mut self.stage {
            form.saving = false;
            form.error = Some(why.clone());
        }
        self.outcome = Some((why, true));
    }

    /// A running launch in a few words, for the status bar.
    pub fn status(&self) -> Option<String> {
        let l = self.launching?;
        let name = self.list.iter().find(|c| c.id == l.id).map_or_else(|| format!("#{}", l.id), |c| c.name.clone());
        Some(format!("launching {name}: {}/{} recipients", l.done, l.total))
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Reply {
        match &mut self.stage {
            Stage::Create(form) => {
                return match form.on_key(k, keys) {
                    FormKey::Stay => Reply::stay(),
                    FormKey::Close => {
                        self.stage = Stage::List;
                        Reply::stay()
                    }
                    FormKey::Submit(effect) => Reply::effects(vec![*effect]),
                }
            }
            Stage::ConfirmCancel(id) => {
                let id = *id;
                self.stage = Stage::List;
                if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    return self.set_state(id, CampaignState::Cancelled, "cancelling");
                }
                return Reply::stay();
            }
            Stage::Preview(..) | Stage::List => {}
        }
        let action = keys.action(k, &[Scope::Panel, Scope::Global]);
        let len = self.list.len();
        if let Stage::Preview(id, _) = self.stage {
            return match action {
                Some(Action::Back | Action::Open) => {
                    self.stage = Stage::List;
                    Reply::stay()
                }
                Some(Action::Launch) => self.launch(id),
                Some(Action::Refresh) => {
                    self.stage = Stage::Preview(id, None);
                    Reply::effects(vec![Effect::PreviewCampaign(id)])
                }
                _ => Reply::stay(),
            };
        }
        match action {
            Some(Action::Back | Action::Quit) => Reply::close(),
            Some(Action::Down) => {
                self.selected = (self.selected + 1).min(len.saturating_sub(1));
                Reply::stay()
            }
            Some(Action::Up) => {
                self.selected = self.selected.saturating_sub(1);
                Reply::stay()
            }
            Some(Action::Top) => {
                self.selected = 0;
                Reply::stay()
            }
            Some(Action::Bottom) => {
                self.selected = len.saturating_sub(1);
                Reply::stay()
            }
            Some(Action::Refresh) => {
                self.loading = true;
                Reply::effects(vec![Effect::LoadCampaigns])
            }
            Some(Action::PreviewCampaign | Action::Open) => match self.selected().map(|c| c.id) {
                Some(id) => {
                    self.stage = Stage::Preview(id, None);
                    Reply::effects(vec![Effect::PreviewCampaign(id)])
                }
                None => Reply::stay(),
            },
            Some(Action::Launch) => match self.selected().map(|c| c.id) {
                Some(id) => self.launch(id),
                None => Reply::stay(),
            },
            Some(Action::PauseResume) => {
                let Some((id, state, name)) = self.selected().map(|c| (c.id, c.state, c.name.clone())) else {
                    return Reply::stay();
                };
                match state {
                    CampaignState::Running => self.set_state(id, CampaignState::Paused, "pausing"),
                    CampaignState::Paused => self.set_state(id, CampaignState::Running, "resuming"),
                    other => Reply::error(format!(
                        "campaign {name:?} is {other}: only a running one pauses, a paused one resumes"
                    )),
                }
            }
            Some(Action::CancelJob) => {
                let Some((id, state, name)) = self.selected().map(|c| (c.id, c.state, c.name.clone())) else {
                    return Reply::stay();
                };
                if matches!(state, CampaignState::Cancelled | CampaignState::Done) {
                    return Reply::error(format!("campaign {name:?} is {state} already"));
                }
                self.stage = Stage::ConfirmCancel(id);
                Reply::stay()
            }
            _ => Reply::stay(),
        }
    }

    fn launch(&mut self, id: u64) -> Reply {
        let Some(c) = self.list.iter().find(|c| c.id == id) else { return Reply::stay() };
        if !matches!(c.state, CampaignState::Draft | CampaignState::Launching) {
            return Reply::error(format!("campaign {:?} is {}; only a draft is launched", c.name, c.state));
        }
        if self.busy.is_some() || self.launching.is_some() {
            return Reply::error("another campaign action is on its way; wait for it");
        }
        self.stage = Stage::List;
        self.busy = Some((id, "launching".into()));
        self.launching = Some(Launching { id, done: 0, total: 0 });
        Reply { effects: vec![Effect::LaunchCampaign(id)], clear_message: true, ..Reply::default() }
    }

    fn set_state(&mut self, id: u64, state: CampaignState, doing: &str) -> Reply {
        if self.busy.as_ref().is_some_and(|(b, _)| *b == id) {
            return Reply::error("that campaign has an action on its way; wait for it");
        }
        self.busy = Some((id, doing.to_string()));
        Reply { effects: vec![Effect::SetCampaignState { id, state }], clear_message: true, ..Reply::default() }
    }

    pub fn draw(&self, f: &mut Frame, keys: &Keymap, now: Millis) {
        let full = f.area();
        let area = theme::centered(full, full.width.saturating_sub(4).min(120), full.height.saturating_sub(2));
        f.render_widget(Clear, area);
        let k = |a| keys.first_key(a);
        let hint = match self.stage {
            Stage::Preview(..) => format!(" {} launch · {} again · Esc back ", k(Action::Launch), k(Action::Refresh)),
            _ => format!(
                " {} new · {} preview · {} launch · {} pause/resume · {} cancel · Esc close ",
                k(Action::NewCampaign),
                k(Action::PreviewCampaign),
                k(Action::Launch),
                k(Action::PauseResume),
                k(Action::CancelJob)
            ),
        };
        let block = theme::popup(" Campaigns ").title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let rows = (self.list.len().max(1) as u16 + 2).min(inner.height / 2);
        let [top, bottom] = Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(inner);
        f.render_widget(Paragraph::new(self.list_lines(top.width, top.height as usize)), top);
        let lower = match &self.stage {
            Stage::Preview(id, answer) => preview_lines(self.list.iter().find(|c| c.id == *id), answer.as_ref()),
            _ => self.detail_lines(now),
        };
        f.render_widget(Paragraph::new(lower).wrap(Wrap { trim: false }), bottom);
        match &self.stage {
            Stage::Create(form) => form.draw(f, full),
            Stage::ConfirmCancel(id) => {
                let name = self.list.iter().find(|c| c.id == *id).map_or_else(String::new, |c| c.name.clone());
                let area = theme::centered(full, 60, 3);
                f.render_widget(Clear, area);
                let block = theme::popup(" Cancel ").border_style(theme::error());
                let text = format!(" Cancel campaign {name:?}? Nothing more is sent. y/n");
                f.render_widget(Paragraph::new(text).block(block), area);
            }
            _ => {}
        }
    }

    fn list_lines(&self, width: u16, height: usize) -> Vec<Line<'static>> {
        // Narrow: the progress and the reply rate; the detail below has every figure.
        let wide = width >= 110;
        let head = if wide {
            format!(
                " {:<20} {:<10} {:<24} {:>6} {:>6} {:>7} {:>6} {:>7} {:>6}",
                "campaign", "state", "progress", "sent", "read", "replied", "failed", "skipped", "reply"
            )
        } else {
            format!(" {:<18} {:<10} {:<26} {:>6}", "campaign", "state", "progress", "reply")
        };
        let mut lines = vec![Line::styled(head, theme::heading())];
        if self.list.is_empty() {
            let text = if self.loading {
                " reading the campaigns…".to_string()
            } else {
                " no campaigns yet: n creates one for the leads the list shows".to_string()
            };
            lines.push(Line::styled(text, theme::dim()));
            return lines;
        }
        let shown = height.saturating_sub(1).max(1);
        let start = crate::tui::ui::window_start(self.selected, shown, self.list.len());
        for (i, c) in self.list.iter().enumerate().skip(start).take(shown) {
            let a = &c.tally.all;
            let text = if wide {
                format!(
                    " {:<20} {:<10} {:<24} {:>6} {:>6} {:>7} {:>6} {:>7} {:>5.1}%",
                    clip(&c.name, 20),
                    self.state_word(c),
                    bar(a, 12),
                    a.get("sent"),
                    a.get("read"),
                    a.get("replied"),
                    a.get("failed"),
                    a.get("skipped"),
                    a.reply_rate()
                )
            } else {
                format!(
                    " {:<18} {:<10} {:<26} {:>5.1}%",
                    clip(&c.name, 18),
                    self.state_word(c),
                    bar(a, 12),
                    a.reply_rate()
                )
            };
            let text: String = text.chars().take(width as usize).collect();
            let style = if i == self.selected { theme::cursor_row() } else { state_style(c.state) };
            lines.push(Line::styled(text, style));
        }
        lines
    }

    /// The campaign's state, or the action on its way to it.
    fn state_word(&self, c: &Campaign) -> String {
        match &self.busy {
            Some((id, doing)) if *id == c.id => format!("{doing}…"),
            _ => c.state.to_string(),
        }
    }

    fn detail_lines(&self, now: Millis) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if let Some((text, failed)) = &self.outcome {
            lines.push(Line::styled(format!(" {text}"), if *failed { theme::error() } else { theme::ok() }));
        }
        let Some(c) = self.selected() else { return lines };
        lines.push(Line::styled(format!(" {} · {}", c.name, describe_audience(&c.audience)), theme::bold()));
        let a = &c.tally.all;
        lines.push(Line::raw(format!(" {:<12} {}", "all", figures(a))));
        if let Some(l) = self.launching.filter(|l| l.id == c.id) {
            let ratio = if l.total == 0 { 0.0 } else { l.done as f64 / l.total as f64 };
            lines.push(Line::styled(
                format!(" writing recipients {} {}/{}", text_bar(ratio, 20), l.done, l.total),
                theme::accent(),
            ));
        }
        for (i, s) in c.steps.iter().enumerate() {
            let when = if i == 0 { "first".to_string() } else { format!("+{}d", s.after_days) };
            lines.push(Line::raw(format!(" {when:>6}  {}", clip(&s.text, 100))));
        }
        let p = &c.pacing;
        let caps = [p.per_hour.map(|n| format!("{n}/hour")), p.per_day.map(|n| format!("{n}/day"))];
        let caps: Vec<String> = caps.into_iter().flatten().collect();
        let caps = if caps.is_empty() { "no caps of its own".to_string() } else { caps.join(", ") };
        lines.push(Line::styled(
            format!(
                " {} recipients · {} pending · {} queued · {} messages sent · {caps} · {}",
                a.total(),
                a.get("pending"),
                a.get("queued"),
                c.tally.messages,
                p.timezone
            ),
            theme::dim(),
        ));
        lines.push(Line::styled(" Accounts", theme::heading()));
        for account in &c.accounts {
            let counts = c.tally.by_account.get(account).copied().unwrap_or_default();
            let ready = self.waits.get(&c.id).and_then(|w| w.iter().find(|(a, _)| a == account)).map(|(_, r)| r);
            let (why, style) = waiting(ready, now);
            lines.push(Line::from(vec![
                Span::raw(format!(" {:<12} {} ", clip(account, 12), figures(&counts))),
                Span::styled(why, style),
            ]));
        }
        if !c.tally.by_variant.is_empty() {
            lines.push(Line::styled(" Variants", theme::heading()));
            for (variant, counts) in &c.tally.by_variant {
                lines.push(Line::raw(format!(" {:<12} {}", clip(variant, 12), figures(counts))));
            }
        }
        if !c.tally.skipped.is_empty() {
            let parts: Vec<String> =
                c.tally.skipped.iter().map(|(why, n)| format!("{} {n}", why.replace('_', " "))).collect();
            lines.push(Line::styled(format!(" skipped: {}", parts.join(" · ")), theme::warning()));
        }
        lines
    }
}

/// A campaign's figures in one line.
fn figures(c: &Counts) -> String {
    format!(
        "{:>4} sent {:>4} read {:>4} replied {:>3} failed {:>3} skipped {:>5.1}% reply rate",
        c.get("sent"),
        c.get("read"),
        c.get("replied"),
        c.get("failed"),
        c.get("skipped"),
        c.reply_rate()
    )
}

/// What an account waits for in a running campaign, from its pace and breaker.
fn waiting(ready: Option<&Ready>, now: Millis) -> (String, Style) {
    match ready {
        None => (String::new(), theme::dim()),
        Some(Ready::Now) => ("sending".into(), theme::ok()),
        Some(Ready::At(at, _)) if *at <= now => ("sending".into(), theme::ok()),
        Some(Ready::At(at, why)) => (format!("next in {}: {why}", format_age(at - now)), theme::dim()),
        Some(Ready::Held(why)) => (format!("held: {why} (pause and resume let go)"), theme::error()),
    }
}

/// Messaged or ended, of all recipients.
pub fn progress(a: &Counts) -> f64 {
    let ended = a.messaged() + a.get("failed") + a.get("skipped");
    match a.total() {
        0 => 0.0,
        n => f64::from(ended) / f64::from(n),
    }
}

fn bar(a: &Counts, width: usize) -> String {
    let total = a.total();
    let ended = a.messaged() + a.get("failed") + a.get("skipped");
    format!("{} {ended}/{total}", text_bar(progress(a), width))
}

/// A bar of `width` cells, `ratio` of them full.
fn text_bar(ratio: f64, width: usize) -> String {
    let full = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

fn state_style(s: CampaignState) -> Style {
    match s {
        CampaignState::Running | CampaignState::Launching => theme::ok(),
        CampaignState::Paused => theme::warning(),
        CampaignState::Cancelled => theme::dim(),
        CampaignState::Draft | CampaignState::Done => Style::default(),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The audience in words: its segment, its filters and its search.
pub fn describe_audience(a: &Audience) -> String {
    let f = &a.filter;
    let mut parts = Vec::new();
    if let Some(s) = &a.segment {
        parts.push(format!("segment {s}"));
    }
    let mut facets: Vec<String> = Vec::new();
    facets.extend(f.status.iter().map(|s| s.to_string()));
    facets.extend(f.priority.iter().map(|p| p.to_string()));
    facets.extend(f.tags.iter().map(|t| format!("#{t}")));
    facets.extend(f.group.iter().cloned());
    facets.extend(f.country.iter().cloned());
    facets.extend(f.language.iter().cloned());
    if !facets.is_empty() {
        parts.push(facets.join(", "));
    }
    if let Some(q) = &a.query {
        parts.push(format!("search {q:?}"));
    }
    if parts.is_empty() {
        "every lead".to_string()
    } else {
        parts.join(" · ")
    }
}

fn preview_lines(c: Option<&Campaign>, answer: Option<&Result<Box<DryRun>, String>>) -> Vec<Line<'static>> {
    let name = c.map_or_else(String::new, |c| c.name.clone());
    let mut lines = vec![Line::styled(format!(" Preview of {name}"), theme::heading())];
    let d = match answer {
        None => {
            lines.push(Line::styled(" rendering the first messages with a dry run…", theme::dim()));
            return lines;
        }
        Some(Err(why)) => {
            lines.push(Line::styled(format!(" {why}"), theme::error()));
            return lines;
        }
        Some(Ok(d)) => d,
    };
    let sent: u64 = d.by_variant.values().sum();
    lines.push(Line::raw(format!(
        " {} leads in the audience · {sent} to message · {} skipped · takes about {}",
        d.audience,
        d.skipped.values().sum::<u64>(),
        format_age(d.takes_ms)
    )));
    if !d.by_variant.is_empty() {
        let parts: Vec<String> = d.by_variant.iter().map(|(v, n)| format!("{v} {n}")).collect();
        lines.push(Line::styled(format!(" variants: {}", parts.join(" · ")), theme::dim()));
    }
    if !d.by_account.is_empty() {
        let parts: Vec<String> =
            d.by_account.iter().map(|(a, (n, ms))| format!("{a} {n} in {}", format_age(*ms))).collect();
        lines.push(Line::styled(format!(" accounts: {}", parts.join(" · ")), theme::dim()));
    }
    if !d.skipped.is_empty() {
        let parts: Vec<String> = d.skipped.iter().map(|(why, n)| format!("{why} {n}")).collect();
        lines.push(Line::styled(format!(" skipped: {}", parts.join(" · ")), theme::warning()));
    }
    lines.push(Line::raw(""));
    for p in &d.recipients {
        lines.push(Line::styled(
            format!(" → {} (#{}) from {} · {}", p.name, p.lead, p.account, p.variant),
            theme::bold(),
        ));
        match &p.text {
            Ok(text) => lines.extend(text.lines().map(|l| Line::raw(format!("   {l}")))),
            Err(why) => lines.push(Line::styled(format!("   skipped: {why}"), theme::warning())),
        }
    }
    lines
}
