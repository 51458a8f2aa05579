//! The simulated world's people: names in Latin and Cyrillic, usernames, phones and languages
//! drawn from the seed, with the skew member search has to cope with.

use super::{Rng, SimUser};

// Many A-names, so the one-letter search "a" saturates and the fan-out must recurse.
const FIRST_LATIN: &[&str] = &[
    "Alexander",
    "Alexey",
    "Anna",
    "Andrey",
    "Anton",
    "Alina",
    "Arthur",
    "Anastasia",
    "Artem",
    "Alla",
    "Amir",
    "Adam",
    "Aisha",
    "Albert",
    "Alan",
    "Alice",
    "Amelia",
    "Arina",
    "Boris",
    "Carlos",
    "Diana",
    "Elena",
    "Farid",
    "George",
    "Hannah",
    "Igor",
    "Julia",
    "Kirill",
    "Laura",
    "Maria",
    "Nikita",
    "Olga",
    "Pavel",
    "Quinn",
    "Roman",
    "Sofia",
    "Timur",
    "Umar",
    "Victor",
    "Wang",
    "Xenia",
    "Yusuf",
    "Zara",
];
const FIRST_CYRILLIC: &[(&str, &str)] = &[
    ("Александр", "alexandr"),
    ("Алексей", "aleksei"),
    ("Анна", "anya"),
    ("Андрей", "andrei"),
    ("Иван", "ivan"),
    ("Мария", "masha"),
    ("Дмитрий", "dmitry"),
    ("Ольга", "olya"),
    ("Сергей", "sergei"),
    ("Наталья", "natalia"),
    ("Юрий", "yuri"),
    ("Екатерина", "katya"),
    ("Ёжик", "yozhik"),
];
const LAST_LATIN: &[&str] = &[
    "Ivanov", "Petrov", "Smith", "Kim", "Garcia", "Novak", "Aliyev", "Abramov", "Andersen", "Brown", "Chen", "Dubois",
    "Evans", "Fischer", "Gupta", "Horvat", "Jensen", "Kowalski", "Lee", "Morozov", "Nguyen", "Orlov", "Popescu",
    "Rossi", "Silva", "Tanaka", "Usmanov", "Volkov", "Weber", "Yilmaz", "Zhukov",
];
const LAST_CYRILLIC: &[&str] =
    &["Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Новиков", "Орлова"];
const LANGS: &[&str] = &["en", "ru", "uk", "de", "es", "tr", "pt-br", "ar", "fa", "kk"];

/// kind 0: a person, 1: a bot, 2: a deleted account.
pub(super) fn gen_user(rng: &mut Rng, id: u64, kind: u8) -> SimUser {
    let mut u = gen_fields(rng, id, kind);
    if !u.deleted {
        let names = u.first_name.split_whitespace().chain(u.last_name.split_whitespace());
        u.words = names.chain(u.username.as_deref()).map(str::to_lowercase).collect();
    }
    u
}

fn gen_fields(rng: &mut Rng, id: u64, kind: u8) -> SimUser {
    let lang = rng.pick(LANGS).to_string();
    if kind == 2 {
        return SimUser {
            id,
            username: None,
            first_name: String::new(),
            last_name: String::new(),
            phone: None,
            lang_code: lang,
            bot: false,
            deleted: true,
            photo: false,
            words: Vec::new(),
        };
    }
    if kind == 1 {
        let name = format!("Helper{}", id % 1000);
        return SimUser {
            id,
            username: Some(format!("helper{}_bot", id % 100_000)),
            first_name: name,
            last_name: String::new(),
            phone: None,
            lang_code: lang,
            bot: true,
            deleted: false,
            photo: false,
            words: Vec::new(),
        };
    }
    let (first, latin_first, last) = if rng.chance(20) {
        let (f, latin) = *rng.pick(FIRST_CYRILLIC);
        (f.to_string(), latin.to_string(), rng.pick(LAST_CYRILLIC).to_string())
    } else {
        // The first 18 names start with A; a third of the people are drawn from them alone.
        let f = if rng.chance(33) { rng.pick(&FIRST_LATIN[..18]) } else { rng.pick(FIRST_LATIN) };
        // A third of the people leave the last name empty, as many Telegram users do.
        let last = if rng.chance(33) { String::new() } else { rng.pick(LAST_LATIN).to_string() };
        (f.to_string(), f.to_ascii_lowercase(), last)
    };
    let username = rng.chance(70).then(|| {
        let style = rng.below(3);
        let n = id % 100_000;
        match style {
            0 => format!("{latin_first}_{n}"),
            1 => format!("{latin_first}{n}x"),
            _ => format!("the_{latin_first}{n}"),
        }
    });
    let phone = rng.chance(10).then(|| {
        if rng.chance(60) {
            format!("79{:09}", rng.below(1_000_000_000))
        } else {
            format!("1212{}{:06}", 2 + rng.below(8), rng.below(1_000_000))
        }
    });
    SimUser {
        id,
        username,
        first_name: first,
        last_name: last,
        phone,
        lang_code: lang,
        bot: false,
        deleted: false,
        photo: rng.chance(60),
        words: Vec::new(),
    }
}
