//! Deterministic synthetic leads for benchmarks and tests: mixed scripts, messy identifier formats,
//! a share of duplicates that differ only in case or phone format, and quoted commas.

/// splitmix64: tiny, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST_LATIN: &[&str] = &[
    "Alice",
    "Bob",
    "Carlos",
    "Diana",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jonas",
    "Lucía",
    "Zoë",
    "François",
    "Jürgen",
];
const LAST_LATIN: &[&str] =
    &["Smith", "García", "Müller", "Rossi", "Dubois", "Kowalski", "Silva", "Novak", "O'Brien", "Jensen"];
const FIRST_CYR: &[&str] =
    &["Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Анна", "Сергей", "Екатерина", "Олена", "Тарас"];
const LAST_CYR: &[&str] = &["Петров", "Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Шевченко", "Коваленко"];
const FIRST_OTHER: &[&str] = &["陈", "王芳", "佐藤", "محمد", "فاطمة", "Mehmet", "Ayşe", "Nguyễn", "Άννα", "דוד"];
const LAST_OTHER: &[&str] = &["伟", "李", "健太", "علي", "حسن", "Yılmaz", "Trần", "Παπαδόπουλος", "כהן"];
const COMPANIES: &[&str] = &[
    "Acme, Inc.",
    "Globex",
    "Initech, LLC",
    "Umbrella",
    "Stark Industries",
    "ООО \"Ромашка\"",
    "Hooli",
    "Vandelay Industries",
];
const TAGS: &[&str] = &["vip", "warm", "cold", "partner", "crypto", "dev", "investor", "event-2026"];
const GROUPS: &[&str] =
    &["Rust Moscow", "Crypto Traders", "Berlin Startups", "Go Developers", "Design Club", "AI Builders"];

/// Realistic national and international formats per country. `subscriber` has 9 digits and every
/// format uses all of them, so two identities never share a number.
fn phone_text(rng: &mut Rng, country: &str, subscriber: u64) -> String {
    let d = format!("{:09}", subscriber % 1_000_000_000);
    let (a, b, c, e) = (&d[0..2], &d[2..5], &d[5..7], &d[7..9]);
    match (country, rng.below(3)) {
        ("RU", 0) => format!("+7 9{a} {b}-{c}-{e}"),
        ("RU", 1) => format!("8 (9{a}) {b}-{c}-{e}"),
        ("RU", _) => format!("79{d}"),
        ("GB", 0) => format!("+44 7{} {}", &d[0..3], &d[3..9]),
        ("GB", _) => format!("07{} {}", &d[0..3], &d[3..9]),
        ("BR", 0) => format!("+55 2{} 9{}-{}", &d[0..1], &d[1..5], &d[5..9]),
        ("BR", _) => format!("(2{}) 9{}-{}", &d[0..1], &d[1..5], &d[5..9]),
        ("DE", 0) => format!("+49 15{} {}", &d[0..1], &d[1..9]),
        ("DE", _) => format!("015{} {} {}", &d[0..1], &d[1..5], &d[5..9]),
        (_, 0) => format!("+1 (2{a}) {b}-{c}{e}"),
        _ => format!("001 2{a} {b} {c}{e}"),
    }
}

/// A bijection on 0..10^9 (multiplication by a unit modulo 10^9), so subscribers look random but never repeat.
fn subscriber_of(identity: u64) -> u64 {
    ((identity % 1_000_000_000) as u128 * 2_654_435_761 % 1_000_000_000) as u64
}

pub struct Lead {
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub phone: String,
    pub country: &'static str,
    pub language: &'static str,
    pub tags: String,
    pub company: String,
    pub group: String,
}

pub const HEADER: &[&str] =
    &["First Name", "Last Name", "Username", "Phone", "Country", "Language", "Tags", "Company", "Group"];

impl Lead {
    pub fn cells(&self) -> [&str; 9] {
        [
            &self.first_name,
            &self.last_name,
            &self.username,
            &self.phone,
            self.country,
            self.language,
            &self.tags,
            &self.company,
            &self.group,
        ]
    }
}

/// Generates lead `i` of a data set. About 5% repeat an earlier username in another case, and
/// about 3% repeat an earlier phone in another format.
pub fn lead(seed: u64, i: u64) -> Lead {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let dup_user = i > 100 && rng.chance(5);
    let dup_phone = !dup_user && i > 100 && rng.chance(3);
    // A duplicate is the same person as an earlier row, written differently.
    let identity = if dup_user || dup_phone { rng.below(i) } else { i };
    let mut id_rng = Rng::new(seed.wrapping_add(identity.wrapping_mul(0x9E37_79B9)));
    let (country, language, first, last) = match id_rng.below(10) {
        0..=3 => ("RU", "ru", FIRST_CYR, LAST_CYR),
        4 => ("GB", "en", FIRST_LATIN, LAST_LATIN),
        5 => ("DE", "de", FIRST_LATIN, LAST_LATIN),
        6 => ("BR", "pt", FIRST_LATIN, LAST_LATIN),
        7 => ("US", "en", FIRST_LATIN, LAST_LATIN),
        _ => ("US", "en", FIRST_OTHER, LAST_OTHER),
    };
    let has_username = id_rng.chance(75);
    let has_phone = !has_username || id_rng.chance(40);
    let subscriber = subscriber_of(identity);
    let base_user = format!("{}_{}", ["user", "tg", "lead", "dev", "mr", "the"][(identity % 6) as usize], identity);
    let username = match (has_username, dup_user) {
        (false, _) => String::new(),
        (true, false) => base_user,
        (true, true) => match rng.below(3) {
            0 => base_user.to_uppercase(),
            1 => format!("@{}", capitalize(&base_user)),
            _ => format!("https://t.me/{base_user}"),
        },
    };
    let phone_country = if identity % 10 < 4 { "RU" } else { country };
    let phone = if has_phone || dup_phone { phone_text(&mut rng, phone_country, subscriber) } else { String::new() };
    let tags = (0..rng.below(3)).map(|_| *rng.pick(TAGS)).collect::<Vec<_>>().join(",");
    Lead {
        first_name: id_rng.pick(first).to_string(),
        last_name: id_rng.pick(last).to_string(),
        username,
        phone,
        // A national-format phone needs the country of its own number.
        country: phone_country,
        language,
        tags,
        company: id_rng.pick(COMPANIES).to_string(),
        group: if id_rng.chance(30) { id_rng.pick(GROUPS).to_string() } else { String::new() },
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Writes `rows` synthetic leads as CSV.
pub fn write_csv(path: &std::path::Path, rows: u64, seed: u64) -> std::io::Result<()> {
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(HEADER)?;
    for i in 0..rows {
        w.write_record(lead(seed, i).cells())?;
    }
    w.flush()
}

/// Writes `rows` rows of which the even ones update lead `i` of `write_csv(.., seed)` (a new
/// company and a new tag) and the odd ones are leads that file does not hold.
pub fn write_half_csv(path: &std::path::Path, rows: u64, seed: u64) -> std::io::Result<()> {
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(HEADER)?;
    for i in 0..rows {
        if i % 2 == 0 {
            let mut l = lead(seed, i);
            l.company = format!("{} (moved)", l.company);
            l.tags = if l.tags.is_empty() { "reimported".into() } else { format!("{},reimported", l.tags) };
            w.write_record(l.cells())?;
        } else {
            w.write_record(lead(seed, rows + i).cells())?;
        }
    }
    w.flush()
}

/// Writes `rows` synthetic leads as an xlsx workbook, phones that are plain digits as numbers
/// (as spreadsheets store them).
pub fn write_xlsx(path: &std::path::Path, rows: u64, seed: u64) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let l = lead(seed, i);
        let r = (i + 1) as u32;
        for (c, cell) in l.cells().iter().enumerate() {
            if c == 3 && !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit()) {
                ws.write_number(r, c as u16, cell.parse::<f64>().unwrap_or_default())?;
            } else if !cell.is_empty() {
                ws.write_string(r, c as u16, *cell)?;
            }
        }
    }
    wb.save(path)
}
