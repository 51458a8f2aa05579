//! `reach import` end to end on messy files, through the real binary.

mod common;
// The benchmarks' synthetic leads, compiled into this test so it needs no `--features bench`.
#[allow(dead_code)]
#[path = "../src/bench/synth.rs"]
mod synth;

use common::Env;
use predicates::prelude::*;
use serde_json::Value;

fn import_json(env: &Env, args: &[&str]) -> Value {
    let out = env.reach().arg("import").args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "import {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn counts(v: &Value) -> (u64, u64, u64, u64) {
    let c = &v["counts"];
    (
        c["created"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["unchanged"].as_u64().unwrap(),
        c["rejected"].as_u64().unwrap(),
    )
}

fn leads(env: &Env) -> Vec<Value> {
    env.json(&["lead", "list"]).as_array().unwrap().clone()
}

fn by_username<'a>(leads: &'a [Value], name: &str) -> &'a Value {
    leads
        .iter()
        .find(|l| l["username"].as_str().is_some_and(|u| u.eq_ignore_ascii_case(name)))
        .unwrap_or_else(|| panic!("no @{name}"))
}

#[test]
fn utf8_with_bom_comma_crlf_multiline_and_blank_lines() {
    let env = Env::new();
    let csv = "\u{feff}First Name,Last Name,@Username,Mobile,Country,Notes\r\n\
               Иван,Петров,@ivan_petrov,8 (916) 123-45-67,RU,\"line one,\r\nline two\"\r\n\
               \r\n\
               Zoë,O'Brien,https://t.me/zoe_obrien,+44 (0)20 7946 0958,GB,\r\n";
    let f = env.write("bom.csv", csv);
    let v = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(v["encoding"], "UTF-8");
    assert_eq!(v["delimiter"], "comma");
    assert_eq!(counts(&v), (2, 0, 0, 0));
    let all = leads(&env);
    let ivan = by_username(&all, "ivan_petrov");
    assert_eq!(ivan["first_name"], "Иван");
    assert_eq!(ivan["phone"]["e164"], "+79161234567");
    assert_eq!(ivan["custom_fields"]["notes"], "line one,\r\nline two");
    assert_eq!(ivan["source"], "file_upload");
    assert_eq!(by_username(&all, "zoe_obrien")["phone"]["e164"], "+442079460958");
}

#[test]
fn windows_1251_semicolons_and_windows_1252_tabs_are_decoded() {
    let env = Env::new();
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(
        "Имя;Фамилия;Username;Телефон\nСергей;Смирнов;sergey_smirnov;+7 916 000-11-22\nОльга;Кузнецова;olga_kuz;\n",
    );
    let f = env.path("ru.csv");
    std::fs::write(&f, &cp1251).unwrap();
    let v = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(v["encoding"], "windows-1251");
    assert_eq!(v["delimiter"], "semicolon");
    assert_eq!(counts(&v).0, 2);
    assert_eq!(by_username(&leads(&env), "sergey_smirnov")["last_name"], "Смирнов");

    let (cp1252, _, _) = encoding_rs::WINDOWS_1252
        .encode("first_name\tlast_name\tusername\nJosé\tMüller\tjose_muller\nFrançoise\tDubois\tfrancoise_d\n");
    let f = env.path("latin.tsv");
    std::fs::write(&f, &cp1252).unwrap();
    let v = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(v["encoding"], "windows-1252");
    assert_eq!(v["delimiter"], "tab");
    let all = leads(&env);
    assert_eq!(by_username(&all, "jose_muller")["last_name"], "Müller");
    assert_eq!(by_username(&all, "francoise_d")["first_name"], "Françoise");
}

#[test]
fn encoding_override_wins() {
    let env = Env::new();
    let (koi8, _, _) = encoding_rs::KOI8_R.encode("name,username\nДмитрий,dmitry_p\n");
    let f = env.path("koi8.csv");
    std::fs::write(&f, &koi8).unwrap();
    import_json(&env, &[f.to_str().unwrap(), "--encoding", "koi8-r"]);
    assert_eq!(by_username(&leads(&env), "dmitry_p")["first_name"], "Дмитрий");
    env.reach()
        .args(["import", f.to_str().unwrap(), "--encoding", "klingon"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown encoding"));
}

#[test]
fn pipes_with_quoted_delimiters_and_ragged_rows() {
    let env = Env::new();
    let csv = "username|company|phone\n\
               pipe_user1|\"Acme | Co\"|\n\
               pipe_user2\n\
               pipe_user3|Globex|+49 151 12345678|EXTRA\n\
               pipe_user4|Initech||\n";
    let f = env.write("pipes.txt", csv);
    let report = env.path("rejected.csv");
    let v = import_json(&env, &[f.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert_eq!(v["delimiter"], "pipe");
    // Short rows import with a warning; a row with an extra non-empty cell is rejected, not misaligned.
    assert_eq!(counts(&v), (3, 0, 0, 1));
    assert_eq!(v["rows_with_warnings"], 1);
    assert!(v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("row 3:")));
    assert_eq!(by_username(&leads(&env), "pipe_user1")["custom_fields"]["company"], "Acme | Co");
    let text = std::fs::read_to_string(&report).unwrap();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), ["username", "company", "phone", "_row", "_error"]);
    let row = rdr.records().next().unwrap().unwrap();
    assert_eq!(&row[0], "pipe_user3");
    assert_eq!(&row[3], "4");
    assert!(row[4].contains("4 cells but the header has 3"));
    assert_eq!(&row[5], "EXTRA", "nothing is lost: the extra cell is kept after _error");
}

#[test]
fn no_identifier_column_fails_before_writing() {
    let env = Env::new();
    let f = env.write("names.csv", "Name,City\nAnn,Paris\n");
    env.reach().args(["import", f.to_str().unwrap()]).assert().code(1).stderr(
        predicate::str::contains("names.csv")
            .and(predicate::str::contains("\"Name\", \"City\""))
            .and(predicate::str::contains("phone_number")),
    );
    assert!(env.json(&["imports"]).as_array().unwrap().is_empty());
    assert!(leads(&env).is_empty());
    // --map rescues it.
    let f = env.write("contacts.csv", "Name,Contact\nAnn,+7 916 555-44-33\n");
    import_json(&env, &[f.to_str().unwrap(), "--map", "Contact=phone_number"]);
    assert_eq!(leads(&env)[0]["phone"]["e164"], "+79165554433");
}

#[test]
fn rejected_rows_name_file_row_and_field_and_go_to_the_default_report() {
    let env = Env::new();
    let f = env.write("bad.csv", "username,phone,status\ngood_user,,\nab,,\n,call me,\nstatus_bad,,sleeping\n");
    let out = env.reach().args(["import", f.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.csv row 3: username \"ab\""), "{stderr}");
    assert!(
        stderr.contains("bad.csv row 4: column \"phone\"") || stderr.contains("bad.csv row 4: phone \"call me\""),
        "{stderr}"
    );
    assert!(stderr.contains("bad.csv row 5: status \"sleeping\""), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rejected   3"), "{stdout}");
    let report = env.data_dir().join("reports/bad-import-1-rejected.csv");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn in_file_and_existing_duplicates_merge_and_reimport_creates_nothing() {
    let env = Env::new();
    env.reach()
        .args(["lead", "add", "--username", "Existing_One", "--status", "blocked", "--tag", "old"])
        .assert()
        .success();
    let csv = "username,phone,country,tags,first_name\n\
               existing_one,,,new,Eve\n\
               dup_person,+7 916 111-22-33,RU,a,Dan\n\
               DUP_PERSON,,,b,\n\
               ,8 (916) 111-22-33,RU,c,\n\
               solo_person,,,,Sol\n";
    let f = env.write("dups.csv", csv);
    let v = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(counts(&v), (2, 3, 0, 0));
    let all = leads(&env);
    assert_eq!(all.len(), 3);
    let existing = by_username(&all, "existing_one");
    assert_eq!(existing["status"], "blocked", "a merge never reactivates a blocked lead");
    assert_eq!(existing["source"], "manual");
    assert_eq!(existing["tags"], serde_json::json!(["new", "old"]));
    assert_eq!(existing["first_name"], "Eve");
    let dup = by_username(&all, "dup_person");
    assert_eq!(dup["tags"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(dup["phone"]["e164"], "+79161112233");
    let shown = env.json(&["lead", "show", "@dup_person"]);
    let merged_from_import =
        shown["history"].as_array().unwrap().iter().filter(|h| h["kind"]["merged"]["import"] == 1).count();
    assert_eq!(merged_from_import, 2);

    let again = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(counts(&again).0, 0, "re-importing creates no leads");
    assert_eq!(counts(&again).1, 0);
    let imports = env.json(&["imports"]);
    assert_eq!(imports.as_array().unwrap().len(), 2);
    assert_eq!(imports[0]["content_hash"], imports[1]["content_hash"]);
    assert_eq!(imports[0]["state"], "completed");
}

#[test]
fn dry_run_writes_nothing_but_counts_the_same() {
    let env = Env::new();
    let csv = "username,phone\nalpha_one,\nALPHA_ONE,+7 916 000 00 01\nbeta_two,\nbad,\n";
    let f = env.write("dry.csv", csv);
    let dry = import_json(&env, &[f.to_str().unwrap(), "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert!(leads(&env).is_empty());
    assert!(env.json(&["imports"]).as_array().unwrap().is_empty());
    assert!(!env.data_dir().join("reports").exists());
    let real = import_json(&env, &[f.to_str().unwrap()]);
    assert_eq!(counts(&dry), counts(&real));
    assert_eq!(counts(&real), (2, 1, 0, 1));
}

#[test]
fn import_tags_default_region_and_custom_field_labels() {
    let env = Env::new();
    let f = env.write("uk.csv", "Username,Phone,Lead Score\nuk_person1,020 7946 0958,7\n");
    import_json(&env, &[f.to_str().unwrap(), "--default-region", "GB", "--tag", "Event-2026"]);
    let l = &leads(&env)[0];
    assert_eq!(l["phone"]["e164"], "+442079460958");
    assert_eq!(l["tags"], serde_json::json!(["event-2026"]));
    assert_eq!(l["custom_fields"]["lead_score"], "7");
}

#[test]
fn excel_numbers_dates_and_sheets() {
    let env = Env::new();
    let path = env.path("book.xlsx");
    {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let first = wb.add_worksheet();
        first.set_name("Leads").unwrap();
        for (c, h) in ["First Name", "Phone", "User ID", "Signed Up", "Username"].iter().enumerate() {
            first.write_string(0, c as u16, *h).unwrap();
        }
        first.write_string(1, 0, "Numeric").unwrap();
        first.write_number(1, 1, 79161234567.0).unwrap();
        first.write_number(1, 2, 123456789.0).unwrap();
        let date = ExcelDateTime::from_ymd(2024, 3, 15).unwrap();
        first.write_datetime_with_format(1, 3, &date, &Format::new().set_num_format("yyyy-mm-dd")).unwrap();
        // An empty row in the middle is skipped.
        first.write_string(3, 0, "Second").unwrap();
        first.write_string(3, 4, "excel_second").unwrap();
        let second = wb.add_worksheet();
        second.set_name("Other").unwrap();
        second.write_string(0, 0, "username").unwrap();
        second.write_string(1, 0, "from_sheet_two").unwrap();
        wb.save(&path).unwrap();
    }
    let v = import_json(&env, &[path.to_str().unwrap()]);
    assert_eq!(v["sheet"], "Leads");
    assert_eq!(counts(&v), (2, 0, 0, 0));
    let all = leads(&env);
    let numeric = all.iter().find(|l| l["first_name"] == "Numeric").unwrap();
    assert_eq!(numeric["phone"]["raw"], "79161234567", "no .0 and no exponent");
    assert_eq!(numeric["phone"]["e164"], "+79161234567");
    assert_eq!(numeric["telegram_user_id"], 123456789);
    assert_eq!(numeric["custom_fields"]["signed_up"], "2024-03-15");

    let v = import_json(&env, &[path.to_str().unwrap(), "--sheet", "other"]);
    assert_eq!(v["sheet"], "Other");
    assert_eq!(counts(&v).0, 1);
    env.reach()
        .args(["import", path.to_str().unwrap(), "--sheet", "Missing"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no sheet named \"Missing\"").and(predicate::str::contains("Leads, Other")));
}

#[test]
fn a_csv_export_reimports_losslessly() {
    let env = Env::new();
    env.reach()
        .args([
            "lead",
            "add",
            "--username",
            "round_trip",
            "--phone",
            "+7 916 123 45 67",
            "--first-name",
            "Zoë",
            "--country",
            "RU",
            "--language",
            "ru",
        ])
        .args([
            "--tag",
            "vip",
            "--tag",
            "warm",
            "--field",
            "Deal Size=1,000",
            "--field",
            "note=a \"quoted\" value",
            "--group",
            "Rust, RU",
            "--priority",
            "high",
            "--status",
            "blocked",
        ])
        .assert()
        .success();
    env.reach().args(["lead", "add", "--username", "round_trip", "--group", "Go Devs"]).assert().success();
    let out = env.path("export.csv");
    env.reach().args(["export", "--out"]).arg(&out).assert().success();

    let fresh = Env::new();
    let v = import_json(&fresh, &[out.to_str().unwrap()]);
    assert_eq!(counts(&v), (1, 0, 0, 0));
    let (a, b) = (&leads(&env)[0], &leads(&fresh)[0]);
    // The export writes phones in E.164, so the number (not the way it was first typed) round-trips.
    assert_eq!(a["phone"]["e164"], b["phone"]["e164"]);
    for field in [
        "username",
        "first_name",
        "country",
        "language",
        "tags",
        "custom_fields",
        "group_name",
        "groups",
        "priority",
        "status",
    ] {
        assert_eq!(a[field], b[field], "{field}");
    }
}

#[test]
fn kill_9_mid_import_leaves_a_working_database_and_a_rerun_completes_it() {
    let env = Env::new();
    let file = env.path("big.csv");
    synth::write_csv(&file, 60_000, 9).unwrap();

    let mut child = env
        .reach_std()
        .args(["import", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some chunks are committed but before it finishes.
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let out = env.reach().args(["stats", "--json"]).output().unwrap();
        let total = serde_json::from_slice::<Value>(&out.stdout).ok().and_then(|v| v["total"].as_u64()).unwrap_or(0);
        if total > 0 || started.elapsed().as_secs() > 120 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = env.json(&["stats"])["total"].as_u64().unwrap();
    assert!(partial > 0, "some chunks were committed before the kill");
    let imports = env.json(&["imports"]);
    let killed = &imports.as_array().unwrap()[0];
    assert!(killed["state"] == "incomplete" || killed["state"] == "completed", "{killed}");
    if killed["state"] == "incomplete" {
        // The record was kept with each committed chunk: it says how far the import got.
        let created = killed["created"].as_u64().unwrap();
        assert_eq!(created, partial, "the killed import's record counts exactly the committed leads: {killed}");
        assert!(killed["rows"].as_u64().unwrap() >= created);
    }

    import_json(&env, &[file.to_str().unwrap()]);
    let after = env.json(&["stats"])["total"].as_u64().unwrap();

    let clean = Env::new();
    import_json(&clean, &[file.to_str().unwrap()]);
    let expected = clean.json(&["stats"])["total"].as_u64().unwrap();
    assert_eq!(after, expected, "the re-run completes the import with no duplicates");
}

#[test]
fn cancelling_keeps_committed_chunks_and_records_the_cancel() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = Env::new();
    let file = env.path("cancel.csv");
    synth::write_csv(&file, 5_000, 3).unwrap();
    let store = reach::store::Store::open_dir(&env.data_dir()).unwrap();
    let ctx = reach::store::WriteCtx { workspace: "u:tester".into(), actor: "tester".into() };
    let mut opts = reach::import::ImportOptions::new(&file, env.path("reports"));
    opts.chunk_rows = 1_000;
    let cancel = AtomicBool::new(false);
    let mut progress = Vec::new();
    let summary = reach::import::run(&store, &ctx, &opts, &cancel, |p| {
        progress.push(p.clone());
        if p.counts.rows >= 2_000 {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert!(summary.cancelled);
    assert_eq!(summary.counts.rows, 2_000, "stops at a chunk boundary");
    let c = summary.counts;
    assert_eq!(c.created + c.updated + c.unchanged + c.rejected, c.rows);
    assert_eq!(store.count("u:tester").unwrap(), c.created);
    assert!(progress.windows(2).all(|w| w[0].counts.rows <= w[1].counts.rows));
    assert!(progress[0].fraction.is_some_and(|f| f > 0.0 && f < 1.0), "{:?}", progress[0]);
    let rec = &store.imports("u:tester").unwrap()[0];
    assert_eq!(rec.state, reach::model::ImportState::Cancelled);
    assert_eq!(rec.created, c.created);
    drop(store);
    // Running it again completes the file without duplicates.
    let store = reach::store::Store::open_dir(&env.data_dir()).unwrap();
    let full = reach::import::run(&store, &ctx, &opts, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!(full.counts.rows, 5_000);
    let clean = Env::new();
    let store2 = reach::store::Store::open_dir(&clean.data_dir()).unwrap();
    reach::import::run(&store2, &ctx, &opts, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!(store.count("u:tester").unwrap(), store2.count("u:tester").unwrap());
}

#[test]
fn a_dry_run_across_chunks_counts_exactly_what_the_real_run_then_does() {
    let env = Env::new();
    // 40k rows are four import chunks; the synthetic file repeats people across them.
    let f = env.path("synth.csv");
    synth::write_csv(&f, 40_000, 9).unwrap();
    let f = f.to_str().unwrap();
    let dry = import_json(&env, &[f, "--dry-run"]);
    assert!(leads(&env).is_empty());
    let real = import_json(&env, &[f]);
    assert_eq!(counts(&dry), counts(&real));
    assert!(counts(&real).1 > 0, "the file has repeats across chunks: {:?}", counts(&real));
    // Into the full store, a dry run sees what is committed.
    let dry_again = import_json(&env, &[f, "--dry-run"]);
    let again = import_json(&env, &[f]);
    assert_eq!(counts(&dry_again), counts(&again));
}

#[test]
fn a_dry_run_holds_no_lock_so_another_process_writes_while_it_runs() {
    let env = Env::new();
    let f = env.path("big.csv");
    synth::write_csv(&f, 200_000, 5).unwrap();
    env.reach().args(["lead", "add", "--username", "before_dry_run"]).assert().success();
    let mut dry = env
        .reach_std()
        .args(["import", f.to_str().unwrap(), "--dry-run", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give the dry run time to open its snapshot and start reading.
    std::thread::sleep(std::time::Duration::from_millis(700));
    env.reach().args(["lead", "add", "--username", "during_dry_run"]).assert().success();
    env.reach().args(["lead", "set", "@before_dry_run", "--status", "blocked"]).assert().success();
    assert!(
        dry.try_wait().unwrap().is_none(),
        "the dry run ended before the writes, so this test showed nothing: make its file larger"
    );
    let out = dry.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> = leads(&env).iter().filter_map(|l| l["username"].as_str().map(String::from)).collect();
    assert_eq!(names.len(), 2, "the dry run wrote nothing: {names:?}");
}

/// The issue's new user: a Google Contacts export imports as it is, no --map needed, and the
/// summary says what it recognized.
#[test]
fn a_google_contacts_export_imports_without_a_map() {
    let env = Env::new();
    let file = env.write(
        "contacts.csv",
        "First Name,Middle Name,Last Name,Labels,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value\n\
         Anna,,Kim,* myContacts ::: Friends,Work,+44 20 7946 0958,Mobile,+7 916 123-45-67\n\
         Bob,,Lee,* myContacts,Mobile,+1 212 555 0100,,\n\
         Nobody,,Here,* myContacts,,,,\n",
    );
    let summary = import_json(&env, &[file.to_str().unwrap()]);
    assert_eq!(summary["format"], "csv (Google Contacts)");
    assert_eq!(counts(&summary), (2, 0, 0, 1), "the contact without a number has no identifier");
    let anna = env.json(&["lead", "show", "+79161234567"]);
    assert_eq!(anna["first_name"], "Anna");
    assert_eq!(anna["custom_fields"]["phone_work"], "+44 20 7946 0958");
    assert_eq!(anna["tags"], serde_json::json!(["friends"]));
    // The same file again changes nothing.
    assert_eq!(counts(&import_json(&env, &[file.to_str().unwrap()])), (0, 0, 2, 1));
}

/// A phone's contacts export, and reach's own vCard export read back: names, every phone, the
/// Telegram username and tags survive; a card with no identifier is rejected at its line.
#[test]
fn vcards_import_from_a_phone_and_round_trip_through_export() {
    let env = Env::new();
    let vcf = env.write(
        "phone.vcf",
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2;=D0=98=D0=B2=D0=B0=D0=BD;;;\r\n\
         TEL;WORK;VOICE:+7 495 123-45-67\r\nTEL;CELL:+7 916 123-45-67\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Only A Name\r\nNOTE:no number\\, no username\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kim;Anna;;;\r\nTEL;TYPE=CELL:+44 7700 900123\r\nX-TELEGRAM:anna_k\r\nCATEGORIES:friends,vip\r\nEND:VCARD\r\n",
    );
    let summary = import_json(&env, &[vcf.to_str().unwrap()]);
    assert_eq!(summary["format"], "vcf (vCard)");
    assert_eq!(counts(&summary), (2, 0, 0, 1));
    let report = std::fs::read_to_string(summary["report"].as_str().unwrap()).unwrap();
    // The second card begins on line 7 of the file.
    assert!(report.contains(",,,,,,7,\"identifier"), "the card's line: {report}");
    let ivan = env.json(&["lead", "show", "+79161234567"]);
    assert_eq!((ivan["first_name"].as_str(), ivan["last_name"].as_str()), (Some("Иван"), Some("Петров")));
    assert_eq!(ivan["custom_fields"]["phone_work"], "+7 495 123-45-67", "the other phone is kept");
    // Exported as vCard and imported into another workspace: the same leads.
    let out = env.path("leads.vcf");
    let exported = env.reach().args(["export", "--format", "vcard", "--out"]).arg(&out).output().unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let other = |args: &[&str]| {
        let o = env.reach().env("REACH_USER", "other").args(args).arg("--json").output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let again = other(&["import", out.to_str().unwrap()]);
    assert_eq!(counts(&again), (2, 0, 0, 0), "{again}");
    let anna = other(&["lead", "show", "@anna_k"]);
    assert_eq!((anna["first_name"].as_str(), anna["phone"]["e164"].as_str()), (Some("Anna"), Some("+447700900123")));
    assert_eq!(anna["tags"], serde_json::json!(["friends", "vip"]));
}
