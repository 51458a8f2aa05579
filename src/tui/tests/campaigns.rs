//! The campaigns panel: its state machine, its drawing, and a create refused in the form.

use std::collections::BTreeMap;

use super::*;
use crate::campaign::audience::{DryRun, Preview};
use crate::campaign::{AccountPace, Audience, Campaign, CampaignState, Counts, Pacing, Step, Tally};
use crate::store::RecordKind;
use crate::tui::panels::campaigns::{progress, Stage};

/// Counts in `RecipientState::BUCKETS` order: pending, queued, sent, read, replied, failed, skipped.
fn counts(c: [u32; 7]) -> Counts {
    Counts(c)
}

fn campaign(id: u64, name: &str, state: CampaignState, all: [u32; 7]) -> Campaign {
    let mut by_account = BTreeMap::new();
    let half = all.map(|n| n / 2);
    by_account.insert("demo-1".to_string(), counts(half));
    by_account.insert("demo-2".to_string(), counts(std::array::from_fn(|i| all[i] - half[i])));
    let mut by_variant = BTreeMap::new();
    by_variant.insert("default".to_string(), counts(all));
    let mut skipped = BTreeMap::new();
    if all[6] > 0 {
        skipped.insert("do_not_contact".to_string(), all[6] - 1);
        skipped.insert("missing_field".to_string(), 1);
    }
    let mut pace = BTreeMap::new();
    pace.insert(
        "demo-1".to_string(),
        AccountPace { day: 0, today: 3, last_at: Some(T0 - 60_000), gap_ms: 180_000, total: 3, breaker: None },
    );
    pace.insert(
        "demo-2".to_string(),
        AccountPace { breaker: Some("FLOOD_WAIT of 3600 s".into()), ..AccountPace::default() },
    );
    Campaign {
        id,
        name: name.into(),
        created_by: "me".into(),
        created_at: T0 - 86_400_000,
        audience: Audience {
            filter: crate::store::Filter { tags: vec!["vip".into()], ..Default::default() },
            ..Default::default()
        },
        steps: vec![
            Step {
                after_days: 0,
                text: "Hi {first_name|there}, saw you in {group_name|the group}".into(),
                by_language: vec![],
            },
            Step { after_days: 3, text: "Any thoughts?".into(), by_language: vec![] },
        ],
        accounts: vec!["demo-1".into(), "demo-2".into()],
        pacing: Pacing { per_hour: Some(20), per_day: Some(100), timezone: "UTC".into(), ..Pacing::default() },
        state,
        launched_at: (state != CampaignState::Draft).then_some(T0 - 3_600_000),
        ended_at: None,
        tally: Tally { all: counts(all), by_account, by_variant, skipped, messages: all[2] + all[3] + all[4] },
        pace,
        enrolled: u64::from(all.iter().sum::<u32>()),
    }
}

fn two() -> Vec<Campaign> {
    vec![
        campaign(1, "spring intro", CampaignState::Running, [40, 2, 30, 15, 9, 1, 3]),
        campaign(2, "follow the meetup", CampaignState::Draft, [0; 7]),
    ]
}

fn listed(list: Vec<Campaign>) -> Event {
    Event::Msg(Msg::Campaigns(Ok(list)))
}

/// The panel open on the two campaigns, at a fixed time.
fn open() -> Model {
    let mut m = loaded();
    m.now = T0;
    assert_eq!(update(&mut m, ch('C')), vec![Effect::LoadCampaigns]);
    assert_eq!(m.popup, Some(Popup::Campaigns));
    update(&mut m, listed(two()));
    m
}

#[test]
fn the_panel_reads_the_campaigns_and_follows_record_changes() {
    let mut m = open();
    assert_eq!(m.campaigns.list.len(), 2);
    assert!(!m.campaigns.loading);
    update(&mut m, ch('j'));
    assert_eq!(m.campaigns.selected().map(|c| c.id), Some(2));
    // A recipient moved somewhere (a runner, the CLI): the record's change reads the list again.
    let effects = update(&mut m, Event::Msg(Msg::RecordsChanged(vec![RecordKind::Campaign])));
    assert_eq!(effects, vec![Effect::LoadCampaigns]);
    // A newer campaign listed first keeps the cursor on its campaign.
    let mut list = two();
    list.insert(0, campaign(3, "newest", CampaignState::Draft, [0; 7]));
    list[2].tally.all = counts([0, 0, 1, 0, 0, 0, 0]);
    update(&mut m, listed(list));
    assert_eq!(m.campaigns.selected().map(|c| c.id), Some(2));
    // Closed, the panel asks for nothing when records change.
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.popup, None);
    assert!(update(&mut m, Event::Msg(Msg::RecordsChanged(vec![RecordKind::Campaign]))).is_empty());
    // A read that fails says so in the panel.
    update(&mut m, ch('C'));
    update(&mut m, Event::Msg(Msg::Campaigns(Err("disk on fire".into()))));
    assert!(m.campaigns.outcome.as_ref().is_some_and(|(t, bad)| *bad && t.contains("disk on fire")));
    assert_eq!(m.campaigns.list.len(), 3, "what was read before stays");
}

#[test]
fn progress_counts_the_messaged_and_the_ended_of_all_recipients() {
    let c = campaign(1, "x", CampaignState::Running, [40, 2, 30, 15, 9, 1, 3]);
    assert!((progress(&c.tally.all) - 58.0 / 100.0).abs() < 1e-9);
    assert_eq!(progress(&Counts::default()), 0.0);
}

#[test]
fn launch_pause_resume_and_a_confirmed_cancel() {
    let mut m = open();
    // The running one does not launch again.
    assert!(update(&mut m, ch('L')).is_empty());
    assert!(m.message.as_ref().is_some_and(|(t, bad)| *bad && t.contains("only a draft")));
    assert_eq!(update(&mut m, ch('p')), vec![Effect::SetCampaignState { id: 1, state: CampaignState::Paused }]);
    assert_eq!(m.campaigns.busy.as_ref().map(|(id, _)| *id), Some(1));
    assert!(update(&mut m, ch('p')).is_empty(), "not twice while it is on its way");
    let done = Msg::CampaignDone { id: 1, result: Ok("campaign \"spring intro\" is paused".into()) };
    assert_eq!(update(&mut m, Event::Msg(done)), vec![Effect::LoadCampaigns]);
    assert_eq!(m.campaigns.busy, None);
    let mut list = two();
    list[0].state = CampaignState::Paused;
    update(&mut m, listed(list));
    assert_eq!(update(&mut m, ch('p')), vec![Effect::SetCampaignState { id: 1, state: CampaignState::Running }]);
    update(&mut m, Event::Msg(Msg::CampaignDone { id: 1, result: Err("permission denied: not yours".into()) }));
    assert_eq!(m.message, Some(("permission denied: not yours".into(), true)), "a refusal is seen");
    // Cancel asks first; anything but y keeps it.
    assert!(update(&mut m, ch('x')).is_empty());
    assert!(matches!(m.campaigns.stage, Stage::ConfirmCancel(1)));
    assert!(update(&mut m, ch('n')).is_empty());
    assert!(matches!(m.campaigns.stage, Stage::List));
    update(&mut m, ch('x'));
    assert_eq!(update(&mut m, ch('y')), vec![Effect::SetCampaignState { id: 1, state: CampaignState::Cancelled }]);
    // The draft launches, with its progress in the panel and the status bar.
    update(&mut m, Event::Msg(Msg::CampaignDone { id: 1, result: Ok("cancelled".into()) }));
    update(&mut m, ch('j'));
    assert_eq!(update(&mut m, ch('L')), vec![Effect::LaunchCampaign(2)]);
    update(&mut m, Event::Msg(Msg::CampaignLaunch { id: 2, done: 10_000, total: 25_000 }));
    assert_eq!(m.campaigns.status().as_deref(), Some("launching follow the meetup: 10000/25000 recipients"));
    update(&mut m, Event::Msg(Msg::CampaignDone { id: 2, result: Ok("launched".into()) }));
    assert_eq!((m.campaigns.launching, m.campaigns.status()), (None, None));
}

#[test]
fn a_new_campaign_takes_the_lists_filters_and_search() {
    let mut m = loaded();
    m.toggle_facet(&tag("vip"));
    update(&mut m, ch('C'));
    update(&mut m, ch('n'));
    let Stage::Create(form) = &m.campaigns.stage else { panic!("the form opens") };
    assert_eq!(form.audience.filter.tags, vec!["vip".to_string()]);
    assert_eq!(form.audience.query, None);
    assert!(form.about.contains("the 1 leads"), "{}", form.about);
    for c in "spring".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Tab));
    for c in "Hi {first_name}".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Tab));
    for c in "3 days:later".chars() {
        update(&mut m, ch(c));
    }
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty(), "a bad follow-up is the form's to refuse");
    let Stage::Create(form) = &m.campaigns.stage else { panic!("still the form") };
    assert!(form.error.as_ref().is_some_and(|e| e.contains("number of days")), "{:?}", form.error);
    for _ in 0.."3 days:later".len() {
        update(&mut m, key(KeyCode::Backspace));
    }
    for c in "3:Any thoughts?".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Tab));
    for c in "12".chars() {
        update(&mut m, ch(c));
    }
    let effects = update(&mut m, key(KeyCode::Enter));
    let [Effect::CreateCampaign(draft)] = effects.as_slice() else { panic!("creates: {effects:?}") };
    let crate::tui::msg::CampaignDraft { name, audience, steps, accounts, pacing } = &**draft;
    assert_eq!((name.as_str(), audience.filter.tags.as_slice()), ("spring", ["vip".to_string()].as_slice()));
    assert_eq!(
        steps.iter().map(|s| (s.after_days, s.text.as_str())).collect::<Vec<_>>(),
        [(0, "Hi {first_name}"), (3, "Any thoughts?")]
    );
    assert!(accounts.is_empty(), "all of the workspace's accounts");
    assert_eq!((pacing.per_hour, pacing.per_day), (Some(12), None));
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty(), "one create at a time");
}

#[test]
fn a_refused_create_shows_in_the_form_and_an_accepted_one_previews() {
    let mut m = open();
    update(&mut m, ch('n'));
    for c in "x".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Tab));
    for c in "Hi {company}".chars() {
        update(&mut m, ch(c));
    }
    assert!(matches!(update(&mut m, key(KeyCode::Enter)).as_slice(), [Effect::CreateCampaign(_)]));
    let why = "campaign \"x\": the message: {company} has no fallback, and 2 of the 3 leads that can be messaged \
               have no value for it; give it one, as in {company|…}, or narrow the audience";
    update(&mut m, Event::Msg(Msg::CampaignCreated(Err(why.into()))));
    let Stage::Create(form) = &m.campaigns.stage else { panic!("the form stays") };
    assert_eq!((form.error.as_deref(), form.saving), (Some(why), false));
    assert_eq!(form.fields[1].text(), "Hi {company}", "what was typed is kept");
    insta::assert_snapshot!("campaign_form_refused_100x30", render(&m, 100, 30));
    // Fixed, it is stored: the preview of its first messages is asked for.
    let created = campaign(3, "x", CampaignState::Draft, [0; 7]);
    let effects = update(&mut m, Event::Msg(Msg::CampaignCreated(Ok(Box::new(created.clone())))));
    assert_eq!(effects, vec![Effect::PreviewCampaign(3)]);
    assert!(matches!(m.campaigns.stage, Stage::Preview(3, None)));
    let mut list = two();
    list.push(created);
    update(&mut m, listed(list));
    assert_eq!(m.campaigns.selected().map(|c| c.id), Some(3), "the cursor goes to the new one");
    let dry = DryRun {
        audience: 3,
        recipients: vec![
            Preview {
                lead: 1,
                name: "Иван Петров".into(),
                account: "demo-1".into(),
                variant: "default".into(),
                text: Ok("Hi Иван, saw you in Rust Moscow".into()),
            },
            Preview {
                lead: 2,
                name: "Anna Smith".into(),
                account: "demo-2".into(),
                variant: "default".into(),
                text: Err("do-not-contact".into()),
            },
        ],
        by_variant: [("default".to_string(), 2)].into(),
        skipped: [("do-not-contact".to_string(), 1)].into(),
        by_account: [("demo-1".to_string(), (1, 0)), ("demo-2".to_string(), (1, 180_000))].into(),
        takes_ms: 180_000,
    };
    update(&mut m, Event::Msg(Msg::CampaignPreview { id: 9, result: Ok(Box::new(dry.clone())) }));
    assert!(matches!(m.campaigns.stage, Stage::Preview(3, None)), "another campaign's preview is dropped");
    update(&mut m, Event::Msg(Msg::CampaignPreview { id: 3, result: Ok(Box::new(dry)) }));
    insta::assert_snapshot!("campaign_preview_100x30", render(&m, 100, 30));
    assert_eq!(update(&mut m, ch('L')), vec![Effect::LaunchCampaign(3)], "launches from the preview");
}

#[test]
fn snapshot_the_campaigns_panel() {
    let mut m = open();
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(format!("campaigns_{w}x{h}"), render(&m, w, h));
    }
    update(&mut m, ch('x'));
    insta::assert_snapshot!("campaigns_confirm_cancel_120x40", render(&m, 120, 40));
}
