//! Telegram Desktop exports (`result.json` of "Export Telegram data", in JSON): the contacts list
//! and personal chats become leads, personal chats' messages go into the leads' threads, and with
//! `--group-members` the people who wrote in group chats become leads too.
//!
//! Exports run to gigabytes, so the file is streamed: a hand-written visitor walks the document
//! and hands each contact and each message (one small JSON value at a time) to the writer in
//! bounded chunks; no chat's message list is ever held whole.
//!
//! Order: the exporting user (`personal_information`) decides each message's direction and
//! thread, and a chat's `name`, `type` and `id` decide what its messages are. Real exports put
//! them first. When they come later, the first pass reads everything it can (contacts, chats whose
//! header came first), only notes the headers of the chats it had to leave, and a second pass reads
//! the file again for just those chats. Memory stays bounded either way; only such files are read twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;
use serde_json::Value;

use super::report::Report;
use super::source::Tap;
use super::{Counts, ImportError, ImportOptions, ImportProgress, ImportSummary, Inspection, MessageCounts, Phases};
use crate::model::{now_millis, ImportRecord, ImportState, LeadInput, Millis, Source};
use crate::store::{ImportedMessage, Outcome, Simulation, Store, TalkOp, Ticket, WriteCtx, WriteOp};

/// The format's name in summaries and previews.
pub const FORMAT: &str = "Telegram Desktop export";

/// Messages (and contacts) per chunk sent to the writer.
const CHUNK: usize = 4096;
const MAX_PRINTED_ERRORS: usize = 10;
/// The custom field holding the date a contact was added in Telegram.
const CONTACT_DATE: (&str, &str) = ("telegram_contact_date", "Telegram contact since");

/// The file to read: the path itself, or `result.json` in it when it is the export's folder.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("result.json")
    } else {
        path.to_path_buf()
    }
}

/// Whether a file's head reads like a Telegram Desktop JSON export: an object whose first keys
/// are the export's own (`personal_information`, or a `chats`/`contacts` section with a `list`).
pub fn looks_like(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{')
        && (t.contains("\"personal_information\"")
            || ((t.contains("\"chats\"") || t.contains("\"contacts\"")) && t.contains("\"list\"")))
}

pub fn inspect(opts: &ImportOptions) -> Result<Inspection, ImportError> {
    let groups = if opts.group_members {
        "leads: the users who wrote (--group-members)"
    } else {
        "skipped (--group-members makes the users who wrote leads)"
    };
    let mapping = [
        ("contacts.list", "leads: first and last name, phone, user id, the date as a custom field"),
        ("chats.list personal_chat", "leads by user id (deleted accounts archived), messages into their threads"),
        ("service messages", "skipped"),
        ("group chats", groups),
    ];
    Ok(Inspection {
        format: FORMAT.into(),
        encoding: Some("UTF-8".into()),
        delimiter: None,
        sheet: None,
        sheets: Vec::new(),
        headers: Vec::new(),
        mapping: mapping.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        warnings: Vec::new(),
    })
}

/// Where a record is in the file, as a JSON path.
#[derive(Debug, Clone, Copy)]
enum Place {
    Contact(usize),
    Chat(&'static str, usize),
    Message(&'static str, usize, usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Contact(i) => write!(f, "contacts.list[{i}]"),
            Place::Chat(s, c) => write!(f, "{s}.list[{c}]"),
            Place::Message(s, c, m) => write!(f, "{s}.list[{c}].messages[{m}]"),
        }
    }
}

/// The exporting user.
#[derive(Debug, Clone, Default)]
struct Exporter {
    user_id: Option<u64>,
}

/// A chat's own fields, as far as they were read.
#[derive(Debug, Clone, Default)]
struct Header {
    name: Option<String>,
    seen_name: bool,
    kind: Option<String>,
    id: Option<u64>,
}

impl Header {
    fn complete(&self) -> bool {
        self.seen_name && self.kind.is_some() && self.id.is_some()
    }
}

/// What a chat's messages are read for.
enum Chat {
    /// Messages into the thread of the lead with this user id.
    Personal {
        user: u64,
    },
    /// Its writers become leads, each once; they were in the group named so.
    Group {
        name: Option<String>,
        seen: HashSet<u64>,
    },
    Skip,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lead,
    Message,
}

struct Origin {
    place: Place,
    kind: Kind,
    record: Value,
}

/// The import's state while the document streams by.
struct Reader<'a> {
    store: &'a Store,
    ctx: &'a WriteCtx,
    opts: &'a ImportOptions,
    cancel: &'a AtomicBool,
    on_progress: &'a mut dyn FnMut(&ImportProgress),
    start: Instant,
    second_pass: bool,
    exporter: Option<Exporter>,
    /// The thread imported messages belong to: the exporting account's, or `imported:<user id>`.
    account: String,
    accounts: Vec<crate::crawl::account::AccountRecord>,
    /// Chats left for the second pass, with their headers.
    deferred: HashMap<(&'static str, usize), Header>,
    import_id: Option<u64>,
    simulation: Option<Simulation>,
    ops: Vec<WriteOp>,
    origins: Vec<Origin>,
    rejected_unsent: u64,
    inflight: VecDeque<(Ticket, Vec<Origin>)>,
    counts: Counts,
    messages: MessageCounts,
    first_errors: Vec<String>,
    report: Report,
    touched: Vec<u64>,
    read: Arc<AtomicU64>,
    total: u64,
    writer_time: std::time::Duration,
    /// Set when reading stopped for a reason of ours (I/O, the store, a cancel) rather than the JSON.
    fatal: Option<ImportError>,
    cancelled: bool,
}

fn abort<E: de::Error>(r: &mut Reader, e: ImportError) -> E {
    r.fatal = Some(e);
    E::custom("import stopped")
}

impl Reader<'_> {
    fn reject(&mut self, place: Place, record: &Value, why: &str, kind: Kind) -> Result<(), ImportError> {
        match kind {
            Kind::Lead => self.counts.rejected += 1,
            Kind::Message => self.messages.rejected += 1,
        }
        if self.first_errors.len() < MAX_PRINTED_ERRORS {
            self.first_errors.push(format!("{} {place}: {why}", self.opts.path.display()));
        }
        let mut shown = record.to_string();
        if shown.len() > 2000 {
            let cut = (0..=2000).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
            shown.truncate(cut);
            shown.push('…');
        }
        self.report
            .write_at(&place.to_string(), &[shown], why)
            .map_err(|e| ImportError::Io { path: self.report.path_or_default(), message: e.to_string() })
    }

    /// A lead from the file: validated here, deduplicated by the store.
    fn lead(&mut self, place: Place, record: Value, input: LeadInput) -> Result<(), ImportError> {
        self.counts.rows += 1;
        let mut input = input;
        input.tags.extend(self.opts.tags.iter().cloned());
        match input.validate(Source::FileUpload, self.opts.default_region.as_deref()) {
            Ok(mut cand) => {
                cand.import = self.import_id;
                self.push(WriteOp::Upsert(cand), Origin { place, kind: Kind::Lead, record })
            }
            Err(e) => {
                self.rejected_unsent += 1;
                self.reject(place, &record, &e.to_string(), Kind::Lead)
            }
        }
    }

    fn push(&mut self, op: WriteOp, origin: Origin) -> Result<(), ImportError> {
        self.ops.push(op);
        self.origins.push(origin);
        if self.ops.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the chunk in hand to the writer (or the dry run), keeping two in flight.
    fn flush(&mut self) -> Result<(), ImportError> {
        if self.cancel.load(Ordering::Relaxed) {
            self.cancelled = true;
            return Err(ImportError::Usage("cancelled".into()));
        }
        let mut ops = std::mem::take(&mut self.ops);
        let origins = std::mem::take(&mut self.origins);
        let rejected = std::mem::take(&mut self.rejected_unsent);
        if let Some(sim) = self.simulation.as_mut() {
            let t = Instant::now();
            let outcomes = sim.apply(self.ctx, ops)?;
            self.writer_time += t.elapsed();
            self.outcomes(outcomes, origins)?;
        } else {
            if let Some(id) = self.import_id {
                ops.push(WriteOp::ImportChunk { id, rejected });
            }
            self.inflight.push_back((self.store.submit(self.ctx.clone(), ops)?, origins));
            while self.inflight.len() > 1 {
                self.settle_one()?;
            }
        }
        self.progress(None);
        Ok(())
    }

    fn settle_one(&mut self) -> Result<(), ImportError> {
        if let Some((ticket, origins)) = self.inflight.pop_front() {
            let t = Instant::now();
            let outcomes = ticket.wait()?;
            self.writer_time += t.elapsed();
            self.outcomes(outcomes, origins)?;
        }
        Ok(())
    }

    fn progress(&mut self, fraction: Option<f64>) {
        let read = self.read.load(Ordering::Relaxed) as f64 / self.total.max(1) as f64;
        // A second pass covers the file again: each pass is half of the way.
        let f = if self.second_pass { (read + 1.0) / 2.0 } else { read };
        let touched = if self.opts.dry_run { Vec::new() } else { std::mem::take(&mut self.touched) };
        (self.on_progress)(&ImportProgress {
            counts: self.counts,
            elapsed: self.start.elapsed(),
            fraction: fraction.or(Some(f.min(1.0))),
            touched,
        });
    }

    fn outcomes(&mut self, outcomes: Vec<Outcome>, origins: Vec<Origin>) -> Result<(), ImportError> {
        for (outcome, o) in outcomes.into_iter().zip(origins) {
            match (o.kind, outcome) {
                (Kind::Lead, Outcome::Created { id }) => {
                    self.counts.created += 1;
                    self.touched.push(id);
                }
                (Kind::Lead, Outcome::Updated { id, .. }) => {
                    self.counts.updated += 1;
                    self.touched.push(id);
                }
                (Kind::Message, Outcome::Recorded { .. }) => self.messages.imported += 1,
                (Kind::Message, Outcome::Unchanged { .. }) => self.messages.unchanged += 1,
                (kind, Outcome::Rejected(e)) => self.reject(o.place, &o.record, &e.to_string(), kind)?,
                (kind, Outcome::Denied(rule)) => {
                    self.reject(o.place, &o.record, &format!("permission denied: {rule}"), kind)?
                }
                (Kind::Lead, _) => self.counts.unchanged += 1,
                (Kind::Message, _) => self.messages.unchanged += 1,
            }
        }
        Ok(())
    }

    fn set_exporter(&mut self, v: &Value) {
        let user_id = v.get("user_id").and_then(user_id_of);
        let phone = v.get("phone_number").and_then(Value::as_str).map(str::to_string);
        let e164 = |p: &str| crate::normalize::normalize_phone(p, self.opts.default_region.as_deref()).e164;
        let exporter_phone = phone.as_deref().and_then(e164);
        let ours = self.accounts.iter().find(|a| {
            let by_id = user_id.is_some() && a.me.as_ref().map(|m| m.user_id) == user_id;
            by_id || (exporter_phone.is_some() && e164(&a.phone) == exporter_phone)
        });
        self.account = match (ours, user_id) {
            (Some(a), _) => a.name.clone(),
            (None, Some(id)) => format!("imported:{id}"),
            (None, None) => "imported".into(),
        };
        self.exporter = Some(Exporter { user_id });
    }

    fn contact(&mut self, i: usize, v: Value) -> Result<(), ImportError> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let date = s("date").map(|d| d.replace('T', " "));
        let input = LeadInput {
            first_name: s("first_name"),
            last_name: s("last_name"),
            phone: s("phone_number"),
            telegram_user_id: v.get("user_id").and_then(user_id_of).map(|u| u.to_string()),
            fields: date.map(|d| vec![(CONTACT_DATE.0.to_string(), d)]).unwrap_or_default(),
            ..Default::default()
        };
        self.lead(Place::Contact(i), v, input)
    }

    /// A chat's header is read: its lead, if it is one, and what its messages are for.
    fn begin_chat(&mut self, section: &'static str, i: usize, h: &Header) -> Result<Chat, ImportError> {
        let record = || serde_json::json!({"name": h.name, "type": h.kind, "id": h.id});
        match h.kind.as_deref() {
            Some("personal_chat") => {
                self.messages.personal_chats += 1;
                let Some(user) = h.id else {
                    let why = "a personal chat without a user id";
                    self.counts.rows += 1;
                    self.reject(Place::Chat(section, i), &record(), why, Kind::Lead)?;
                    return Ok(Chat::Skip);
                };
                self.lead(Place::Chat(section, i), record(), person(user, h.name.as_deref(), None))?;
                Ok(Chat::Personal { user })
            }
            Some("private_group" | "private_supergroup" | "public_supergroup") if self.opts.group_members => {
                Ok(Chat::Group { name: h.name.clone(), seen: HashSet::new() })
            }
            _ => {
                self.messages.skipped_chats += 1;
                Ok(Chat::Skip)
            }
        }
    }

    fn message(&mut self, chat: &mut Chat, place: Place, v: Value) -> Result<(), ImportError> {
        if matches!(chat, Chat::Skip) {
            return Ok(());
        }
        let kind = v.get("type").and_then(Value::as_str);
        if kind == Some("service") {
            self.messages.service += 1;
            return Ok(());
        }
        let exporter = self.exporter.as_ref().and_then(|e| e.user_id);
        let from = v.get("from_id").and_then(Value::as_str).and_then(|f| f.strip_prefix("user"));
        let from = from.and_then(|f| f.parse::<u64>().ok());
        match chat {
            Chat::Skip => Ok(()),
            Chat::Group { name, seen } => {
                // Channels post as themselves, and the exporter is no lead of their own.
                let Some(user) = from.filter(|u| Some(*u) != exporter && kind == Some("message")) else {
                    return Ok(());
                };
                if !seen.insert(user) {
                    return Ok(());
                }
                let input = person(user, v.get("from").and_then(Value::as_str), name.clone());
                self.lead(place, v, input)
            }
            Chat::Personal { user } => {
                let user = *user;
                self.messages.read += 1;
                let parsed = parse_message(&v, kind, from, user, exporter);
                match parsed {
                    Ok(message) => {
                        let op = TalkOp::Imported { user, account: self.account.clone(), message };
                        self.push(WriteOp::Talk(op), Origin { place, kind: Kind::Message, record: v })
                    }
                    Err(why) => self.reject(place, &v, &why, Kind::Message),
                }
            }
        }
    }
}

/// A personal chat's message, or why it cannot be one.
fn parse_message(
    v: &Value,
    kind: Option<&str>,
    from: Option<u64>,
    user: u64,
    exporter: Option<u64>,
) -> Result<ImportedMessage, String> {
    if kind != Some("message") {
        return Err(format!("unknown message type {}", v.get("type").unwrap_or(&Value::Null)));
    }
    let id = v.get("id").and_then(Value::as_i64).ok_or("no message id")?;
    let tg_id = i32::try_from(id).map_err(|_| format!("message id {id} is out of range"))?;
    let from = from.ok_or("no from_id naming the user who wrote it")?;
    let at = time_of(v).ok_or("no date_unixtime (or date) saying when it was written")?;
    let text = text_of(v)?;
    // In a personal chat whoever is not the lead is the exporting user.
    let out = match exporter {
        Some(me) if from == me => true,
        _ if from == user => false,
        Some(_) => return Err(format!("from_id user{from} is neither the chat's user nor the exporter")),
        None => true,
    };
    let edited = v.get("edited_unixtime").or_else(|| v.get("edited")).is_some();
    Ok(ImportedMessage { tg_id, out, text, at, edited })
}

/// A Telegram user as a lead: the display name split at its first space, archived when the
/// account was deleted (Telegram shows no name, or "Deleted Account").
fn person(user: u64, name: Option<&str>, group: Option<String>) -> LeadInput {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let deleted = name.is_none_or(|n| n == "Deleted Account");
    let (first, last) = match name.filter(|_| !deleted) {
        Some(n) => match n.split_once(' ') {
            Some((f, l)) => (Some(f.to_string()), Some(l.trim().to_string())),
            None => (Some(n.to_string()), None),
        },
        None => (None, None),
    };
    LeadInput {
        telegram_user_id: Some(user.to_string()),
        first_name: first,
        last_name: last,
        status: deleted.then(|| "archived".to_string()),
        group,
        ..Default::default()
    }
}

/// A user id as exports write it: a number, or `"user123"`.
fn user_id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.strip_prefix("user").unwrap_or(s).parse().ok(),
        _ => None,
    }
    .filter(|u| *u > 0)
}

/// When a message was written: `date_unixtime` (a string of seconds in exports), else `date`,
/// which older exports write in the exporter's local time, read here as UTC.
fn time_of(v: &Value) -> Option<Millis> {
    let secs = match v.get("date_unixtime") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    if let Some(s) = secs {
        return s.checked_mul(1000);
    }
    let date = v.get("date").and_then(Value::as_str)?;
    let t = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(t.and_utc().timestamp_millis())
}

/// A message's text: a string, or a list of plain strings and entity objects (links, bold,
/// mentions) each with its own `text`. A message with only media says what it held.
fn text_of(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    match v.get("text") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Array(parts)) => {
            for (i, p) in parts.iter().enumerate() {
                match p {
                    Value::String(s) => out.push_str(s),
                    Value::Object(o) => match o.get("text") {
                        Some(Value::String(s)) => out.push_str(s),
                        _ => return Err(format!("text[{i}] is an entity without a text")),
                    },
                    _ => return Err(format!("text[{i}] is neither a string nor an entity")),
                }
            }
        }
        Some(_) => return Err("text is neither a string nor a list of strings and entities".into()),
    }
    if out.trim().is_empty() {
        let media = v.get("media_type").and_then(Value::as_str).map(|m| m.replace('_', " "));
        let what = media.or_else(|| {
            ["photo", "file", "location_information", "poll", "contact_information"]
                .iter()
                .find(|k| v.get(**k).is_some())
                .map(|k| k.replace('_', " "))
        });
        out = format!("[{}]", what.unwrap_or_else(|| "no text".into()));
    }
    Ok(out)
}

/// The document: which sections are read depends on the pass.
struct Top<'r, 'a>(&'r mut Reader<'a>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Telegram Desktop export (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "personal_information" if !r.second_pass => {
                    let v: Value = map.next_value()?;
                    r.set_exporter(&v);
                }
                "contacts" if !r.second_pass => map.next_value_seed(Section { r: &mut *r, name: "contacts" })?,
                "chats" | "left_chats" => {
                    let name = if key == "chats" { "chats" } else { "left_chats" };
                    map.next_value_seed(Section { r: &mut *r, name })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `{"about": …, "list": [...]}` of contacts or chats.
struct Section<'r, 'a> {
    r: &'r mut Reader<'a>,
    name: &'static str,
}

impl<'de> DeserializeSeed<'de> for Section<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Section<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the {} section, an object with a list", self.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (r, name) = (self.r, self.name);
        while let Some(key) = map.next_key::<String>()? {
            if key == "list" {
                map.next_value_seed(List { r: &mut *r, name })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct List<'r, 'a> {
    r: &'r mut Reader<'a>,
    name: &'static str,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the list of {}", self.name)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let r = self.r;
        let mut i = 0;
        if self.name == "contacts" {
            while let Some(v) = seq.next_element::<Value>()? {
                r.contact(i, v).map_err(|e| abort::<A::Error>(r, e))?;
                i += 1;
            }
            return Ok(());
        }
        loop {
            let mode = if r.second_pass {
                match r.deferred.remove(&(self.name, i)) {
                    Some(h) => Mode::Replay(h),
                    None => Mode::Skip,
                }
            } else if r.exporter.is_some() {
                Mode::Read
            } else {
                // Who exported it is not known yet: the chats wait for the second pass.
                Mode::Headers
            };
            let found = match mode {
                Mode::Skip => seq.next_element::<IgnoredAny>()?.is_some(),
                mode => seq.next_element_seed(ChatSeed { r: &mut *r, section: self.name, index: i, mode })?.is_some(),
            };
            if !found {
                return Ok(());
            }
            i += 1;
        }
    }
}

enum Mode {
    /// Read the chat whole if its header comes before its messages, else note the header.
    Read,
    /// Note the header only.
    Headers,
    /// The second pass: the header is known, read the messages.
    Replay(Header),
    Skip,
}

struct ChatSeed<'r, 'a> {
    r: &'r mut Reader<'a>,
    section: &'static str,
    index: usize,
    mode: Mode,
}

impl<'de> DeserializeSeed<'de> for ChatSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChatSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a chat, an object with name, type, id and messages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ChatSeed { r, section, index, mode } = self;
        let replay = matches!(mode, Mode::Replay(_));
        let mut h = match &mode {
            Mode::Replay(known) => known.clone(),
            _ => Header::default(),
        };
        let mut read = false;
        let mut left = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" if !replay => {
                    h.name = map.next_value()?;
                    h.seen_name = true;
                }
                "type" if !replay => h.kind = map.next_value()?,
                "id" if !replay => h.id = user_id_of(&map.next_value::<Value>()?),
                "messages" if replay || (matches!(mode, Mode::Read) && h.complete()) => {
                    let chat = r.begin_chat(section, index, &h).map_err(|e| abort::<A::Error>(r, e))?;
                    if matches!(chat, Chat::Skip) {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        map.next_value_seed(Messages { r: &mut *r, section, index, chat })?;
                    }
                    read = true;
                }
                "messages" => {
                    map.next_value::<IgnoredAny>()?;
                    left = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match mode {
            Mode::Headers => {
                r.deferred.insert((section, index), h);
            }
            Mode::Read if left => {
                r.deferred.insert((section, index), h);
            }
            // A chat without messages is still a lead.
            Mode::Read | Mode::Replay(_) if !read => {
                r.begin_chat(section, index, &h).map_err(|e| abort::<A::Error>(r, e))?;
            }
            _ => {}
        }
        Ok(())
    }
}

struct Messages<'r, 'a> {
    r: &'r mut Reader<'a>,
    section: &'static str,
    index: usize,
    chat: Chat,
}

impl<'de> DeserializeSeed<'de> for Messages<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Messages<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            let place = Place::Message(self.section, self.index, i);
            self.r.message(&mut self.chat, place, v).map_err(|e| abort::<A::Error>(self.r, e))?;
            i += 1;
        }
        Ok(())
    }
}

/// One pass over the file.
fn pass(r: &mut Reader, path: &Path, hasher: Arc<Mutex<blake3::Hasher>>) -> Result<(), ImportError> {
    let io = |e: std::io::Error| ImportError::Io { path: path.to_path_buf(), message: e.to_string() };
    let file = File::open(path).map_err(io)?;
    r.read.store(0, Ordering::Relaxed);
    let tap = Tap { inner: file, read: r.read.clone(), hasher };
    let mut input = BufReader::with_capacity(1 << 20, tap);
    if input.fill_buf().map_err(io)?.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    let mut de = serde_json::Deserializer::from_reader(input);
    let result = (&mut de).deserialize_map(Top(&mut *r)).and_then(|_| de.end());
    if let Some(e) = r.fatal.take() {
        return Err(e);
    }
    if r.cancelled {
        return Ok(());
    }
    result.map_err(|e| ImportError::Io {
        path: path.to_path_buf(),
        message: format!("not a readable Telegram Desktop export: {e}"),
    })
}

/// Both passes (the second only when the first left chats), then what is still in hand.
fn read_all(
    r: &mut Reader,
    path: &Path,
    hasher: &Arc<Mutex<blake3::Hasher>>,
    warnings: &mut Vec<String>,
) -> Result<(), ImportError> {
    pass(r, path, hasher.clone())?;
    if !r.deferred.is_empty() && !r.cancelled {
        if r.exporter.is_none() {
            warnings.push(
                "the export has no personal_information: messages go to the thread \"imported\", \
                 and whoever is not the chat's user is taken for the exporter"
                    .to_string(),
            );
        }
        r.second_pass = true;
        pass(r, path, Arc::new(Mutex::new(blake3::Hasher::new())))?;
    }
    if !r.cancelled {
        r.flush()?;
    }
    while !r.inflight.is_empty() {
        r.settle_one()?;
    }
    Ok(())
}

pub fn run(
    store: &Store,
    ctx: &WriteCtx,
    opts: &ImportOptions,
    cancel: &AtomicBool,
    on_progress: &mut dyn FnMut(&ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let start = Instant::now();
    let path = resolve(&opts.path);
    let io = |e: std::io::Error| ImportError::Io { path: path.clone(), message: e.to_string() };
    let total = std::fs::metadata(&path).map_err(io)?.len();
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut record = ImportRecord::begin(&ctx.workspace, &ctx.actor, file_name);
    let mut simulation = None;
    let import_id = if opts.dry_run {
        simulation = Some(store.simulate()?);
        None
    } else {
        let labels = vec![(CONTACT_DATE.0.to_string(), CONTACT_DATE.1.to_string())];
        let out = store.write(ctx.clone(), vec![WriteOp::BeginImport(record.clone()), WriteOp::FieldLabels(labels)])?;
        match out.first() {
            Some(Outcome::Denied(rule)) => return Err(ImportError::Usage(format!("permission denied: {rule}"))),
            first => first.and_then(Outcome::id),
        }
    };
    record.id = import_id.unwrap_or(0);
    let stem = opts.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    let report_path = match (&opts.report, import_id) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(id)) => Some(opts.report_dir.join(format!("{stem}-import-{id}-rejected.csv"))),
        (None, None) => None,
    };
    let hasher = Arc::new(Mutex::new(blake3::Hasher::new()));
    let mut r = Reader {
        store,
        ctx,
        opts,
        cancel,
        on_progress,
        start,
        second_pass: false,
        exporter: None,
        account: "imported".into(),
        accounts: crate::crawl::account::of_workspace(store, &ctx.workspace)?,
        deferred: HashMap::new(),
        import_id,
        simulation,
        ops: Vec::new(),
        origins: Vec::new(),
        rejected_unsent: 0,
        inflight: VecDeque::new(),
        counts: Counts::default(),
        messages: MessageCounts::default(),
        first_errors: Vec::new(),
        report: Report::with_places(report_path, &["record".to_string()]),
        touched: Vec::new(),
        read: Arc::new(AtomicU64::new(0)),
        total,
        writer_time: Default::default(),
        fatal: None,
        cancelled: false,
    };
    let mut warnings = Vec::new();
    let outcome = read_all(&mut r, &path, &hasher, &mut warnings);
    match outcome {
        Err(_) if r.cancelled => {
            while !r.inflight.is_empty() {
                r.settle_one()?;
            }
        }
        other => other?,
    }
    let cancelled = r.cancelled;
    r.progress(Some(1.0).filter(|_| !cancelled));
    let elapsed = start.elapsed();
    let Reader { counts, messages, first_errors, report, writer_time, .. } = r;
    let report_written =
        report.finish().map_err(|e| ImportError::Io { path: opts.report_dir.clone(), message: e.to_string() })?;
    if import_id.is_some() {
        record.content_hash = hasher.lock().map(|h| h.finalize().to_hex().to_string()).unwrap_or_default();
        record.finished_at = Some(now_millis());
        record.state = if cancelled { ImportState::Cancelled } else { ImportState::Completed };
        record.rows = counts.rows;
        record.created = counts.created;
        record.updated = counts.updated;
        record.unchanged = counts.unchanged;
        record.rejected = counts.rejected;
        store.write(ctx.clone(), vec![WriteOp::FinishImport(record)])?;
    }
    let secs = elapsed.as_secs_f64();
    Ok(ImportSummary {
        import_id,
        file: opts.path.clone(),
        format: FORMAT.into(),
        encoding: Some("UTF-8".into()),
        delimiter: None,
        sheet: None,
        mapping: Vec::new(),
        warnings,
        rows_with_warnings: 0,
        counts,
        messages: Some(messages),
        elapsed_ms: elapsed.as_millis() as u64,
        rows_per_sec: if secs > 0.0 { counts.rows as f64 / secs } else { 0.0 },
        report: report_written,
        first_errors,
        dry_run: opts.dry_run,
        cancelled,
        phases: Phases { writer_ms: writer_time.as_millis() as u64, ..Default::default() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecordKind;
    use serde_json::json;

    const WS: &str = "u:tester";

    fn ctx() -> WriteCtx {
        WriteCtx { workspace: WS.into(), actor: "tester".into() }
    }

    fn chat(name: Value, id: u64, messages: Value) -> Value {
        json!({"name": name, "type": "personal_chat", "id": id, "messages": messages})
    }

    fn msg(id: i64, from: u64, text: Value) -> Value {
        json!({"id": id, "type": "message", "date_unixtime": (1_700_000_000 + id).to_string(),
               "from": "someone", "from_id": format!("user{from}"), "text": text})
    }

    fn me() -> Value {
        json!({"user_id": 1000, "first_name": "Me", "phone_number": "+1 555 0100"})
    }

    fn chats() -> Value {
        json!({"about": "", "list": [
            chat(json!("Anna Kim"), 2001, json!([msg(1, 2001, json!("hi")), msg(2, 1000, json!("hello"))])),
            chat(json!("Deleted Account"), 3001, json!([{"id": 3, "type": "service", "actor_id": "user3001"}]))
        ]})
    }

    fn run_on(dir: &Path, store: &Store, doc: &str, dry: bool) -> ImportSummary {
        let path = dir.join("result.json");
        std::fs::write(&path, doc).unwrap();
        let mut opts = ImportOptions::new(&path, dir.join("reports"));
        opts.dry_run = dry;
        super::super::run(store, &ctx(), &opts, &AtomicBool::new(false), |_| {}).unwrap()
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(&dir.path().join("data")).unwrap();
        (dir, store)
    }

    #[test]
    fn texts_join_entities_and_say_what_media_held() {
        let v = json!({"text": ["a ", {"type": "bold", "text": "b"}, " c"]});
        assert_eq!(text_of(&v).unwrap(), "a b c");
        assert_eq!(text_of(&json!({"text": "plain"})).unwrap(), "plain");
        assert_eq!(text_of(&json!({"text": "", "media_type": "voice_message"})).unwrap(), "[voice message]");
        assert_eq!(text_of(&json!({"text": "", "photo": "photos/1.jpg"})).unwrap(), "[photo]");
        assert!(text_of(&json!({"text": [{"type": "bold"}]})).is_err());
        assert!(text_of(&json!({"text": 5})).is_err());
        assert_eq!(time_of(&json!({"date_unixtime": "1700000000"})), Some(1_700_000_000_000));
        assert_eq!(time_of(&json!({"date": "2023-11-14T22:13:20"})), Some(1_700_000_000_000));
        assert_eq!(user_id_of(&json!("user42")), Some(42));
        assert_eq!(user_id_of(&json!(42)), Some(42));
        let deleted = person(7, Some("Deleted Account"), None);
        assert_eq!((deleted.status.as_deref(), deleted.first_name), (Some("archived"), None));
        assert_eq!(person(7, Some("Иван Петров"), None).last_name.as_deref(), Some("Петров"));
        assert!(looks_like(br#"{ "about": "x", "personal_information": {"#));
        assert!(!looks_like(b"name,phone\n"));
    }

    #[test]
    fn the_exporters_own_account_gets_the_messages() {
        let (dir, store) = open();
        let me = crate::telegram::Me { user_id: 1000, username: None, first_name: "Me".into() };
        let backend = crate::config::TelegramBackend::Simulated;
        let rec = crate::crawl::account::new_record("main", "+15550100", backend, me, WS, "tester");
        let global = WriteCtx { workspace: String::new(), actor: String::new() };
        store.write_one(global, WriteOp::record(RecordKind::Account, "main", &rec)).unwrap();
        let doc = json!({"personal_information": me_json(), "chats": chats()}).to_string();
        let s = run_on(dir.path(), &store, &doc, false);
        assert_eq!(s.messages.map(|m| (m.imported, m.service)), Some((2, 1)));
        let leads = leads(&store);
        let anna = leads.iter().find(|l| l.telegram_user_id == Some(2001)).unwrap();
        let thread = store.thread(WS, anna.id).unwrap();
        assert!(thread.iter().all(|m| m.account == "main"), "{thread:?}");
        assert_eq!(anna.conversation.sent + anna.conversation.received, 2);
        assert_eq!(anna.conversation.unread, 0, "history read in Telegram is not unread");
    }

    fn me_json() -> Value {
        me()
    }

    fn leads(store: &Store) -> Vec<crate::model::Lead> {
        let mut out = Vec::new();
        store.scan(WS, &Default::default(), |l| out.push(l)).unwrap();
        out
    }

    #[test]
    fn personal_information_after_the_chats_and_headers_after_messages_read_the_same() {
        let (dir, store) = open();
        let late_header = json!({"messages": [msg(5, 2002, json!("late"))], "id": 2002, "type": "personal_chat", "name": "Late Header"});
        let mut list = chats();
        list["list"].as_array_mut().unwrap().push(late_header);
        // serde_json keeps keys sorted: "chats" comes before "personal_information" here.
        let doc = json!({"chats": list, "personal_information": me()}).to_string();
        assert!(doc.find("\"chats\"") < doc.find("\"personal_information\""));
        let dry = run_on(dir.path(), &store, &doc, true);
        assert_eq!(dry.messages.map(|m| m.imported), Some(3), "a dry run counts as the import would");
        let s = run_on(dir.path(), &store, &doc, false);
        assert_eq!((s.counts.created, s.counts.rejected), (3, 0));
        let m = s.messages.unwrap();
        assert_eq!((m.imported, m.rejected, m.service), (3, 0, 1));
        let leads = leads(&store);
        let anna = leads.iter().find(|l| l.telegram_user_id == Some(2001)).unwrap();
        let thread = store.thread(WS, anna.id).unwrap();
        assert_eq!(
            thread.iter().map(|m| m.direction).collect::<Vec<_>>(),
            [crate::model::Direction::In, crate::model::Direction::Out]
        );
        assert_eq!(thread[0].account, "imported:1000");
        let again = run_on(dir.path(), &store, &doc, false);
        assert_eq!(again.messages.map(|m| (m.imported, m.unchanged)), Some((0, 3)));
    }
}
