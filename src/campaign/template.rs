//! Message templates: variables with fallbacks (`{first_name}`, `{first_name|there}`,
//! `{field:company}`) and spintax (`{Hi|Hello}`), nested freely. A choice is made from a hash of
//! the campaign, the step, the lead and the choice's place, so rendering is deterministic: the
//! same lead always gets the same text, and a re-run (a dry run, a restart) renders it again.
//! `{{` and `}}` are literal braces.

use std::fmt;

use crate::model::Lead;

/// A variable a template may name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    FirstName,
    LastName,
    /// First and last name, as the lead list shows it.
    Name,
    Username,
    Phone,
    Country,
    Language,
    Group,
    /// A custom field, by key.
    Field(String),
}

pub const VARIABLES: &[&str] =
    &["first_name", "last_name", "name", "username", "phone", "country", "language", "group", "field:KEY"];

impl Var {
    fn parse(s: &str) -> Option<Var> {
        let s = s.trim();
        Some(match s {
            "first_name" => Var::FirstName,
            "last_name" => Var::LastName,
            "name" => Var::Name,
            "username" => Var::Username,
            "phone" => Var::Phone,
            "country" => Var::Country,
            "language" => Var::Language,
            "group" => Var::Group,
            _ => {
                let key = s.strip_prefix("field:")?.trim();
                if key.is_empty() {
                    return None;
                }
                Var::Field(crate::normalize::field_key(key))
            }
        })
    }

    /// The lead's value, None when it has none.
    pub fn value(&self, l: &Lead) -> Option<String> {
        let v = match self {
            Var::FirstName => l.first_name.clone(),
            Var::LastName => l.last_name.clone(),
            Var::Name => format!("{} {}", l.first_name, l.last_name).trim().to_string(),
            Var::Username => l.username.clone().unwrap_or_default(),
            Var::Phone => l.phone.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            Var::Country => l.country.clone().unwrap_or_default(),
            Var::Language => l.language.clone().unwrap_or_default(),
            Var::Group => l.group_name.clone().unwrap_or_default(),
            Var::Field(k) => l.custom_fields.get(k).cloned().unwrap_or_default(),
        };
        let v = v.trim().to_string();
        (!v.is_empty()).then_some(v)
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::FirstName => f.write_str("{first_name}"),
            Var::LastName => f.write_str("{last_name}"),
            Var::Name => f.write_str("{name}"),
            Var::Username => f.write_str("{username}"),
            Var::Phone => f.write_str("{phone}"),
            Var::Country => f.write_str("{country}"),
            Var::Language => f.write_str("{language}"),
            Var::Group => f.write_str("{group}"),
            Var::Field(k) => write!(f, "{{field:{k}}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    /// A variable, and the alternatives to use when the lead has no value (none: required).
    Var(Var, Vec<Vec<Node>>),
    /// Spintax: one alternative per lead.
    Spin(Vec<Vec<Node>>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable {{{0}}} (known: {known}); spintax needs two choices, as in {{Hi|Hello}}", known = VARIABLES.join(", "))]
    UnknownVariable(String),
    #[error("an unclosed {{ at character {0}; write {{{{ for a literal brace")]
    Unclosed(usize),
    #[error("a }} with no {{ before it at character {0}; write }}}} for a literal brace")]
    Unopened(usize),
    #[error("the template is empty")]
    Empty,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let nodes = parse_seq(&chars, &mut at, false)?;
        if at < chars.len() {
            return Err(TemplateError::Unopened(at + 1));
        }
        Ok(Template { nodes })
    }

    /// The variables the template names, and whether each has a fallback everywhere it appears.
    pub fn variables(&self) -> Vec<(Var, bool)> {
        fn walk(nodes: &[Node], out: &mut Vec<(Var, bool)>) {
            for n in nodes {
                match n {
                    Node::Text(_) => {}
                    Node::Var(v, fallback) => {
                        let has = !fallback.is_empty();
                        match out.iter_mut().find(|(o, _)| o == v) {
                            Some((_, all)) => *all &= has,
                            None => out.push((v.clone(), has)),
                        }
                        fallback.iter().for_each(|alt| walk(alt, out));
                    }
                    Node::Spin(alts) => alts.iter().for_each(|alt| walk(alt, out)),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.nodes, &mut out);
        out
    }

    /// The text for `lead`; `seed` picks the spintax (the campaign and step). Err names a
    /// variable the lead has no value for, where the template gives no fallback.
    pub fn render(&self, lead: &Lead, seed: u64) -> Result<String, Var> {
        let mut out = String::new();
        let mut pick = Picker { seed, lead: lead.id, n: 0 };
        render_seq(&self.nodes, lead, &mut pick, &mut out)?;
        Ok(out.trim().to_string())
    }
}

struct Picker {
    seed: u64,
    lead: u64,
    n: u64,
}

impl Picker {
    fn pick(&mut self, len: usize) -> usize {
        self.n += 1;
        let mut h = blake3::Hasher::new();
        h.update(&self.seed.to_le_bytes());
        h.update(&self.lead.to_le_bytes());
        h.update(&self.n.to_le_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.finalize().as_bytes()[..8]);
        (u64::from_le_bytes(b) % len.max(1) as u64) as usize
    }
}

fn render_seq(nodes: &[Node], lead: &Lead, pick: &mut Picker, out: &mut String) -> Result<(), Var> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Var(v, fallback) => match v.value(lead) {
                Some(value) => out.push_str(&value),
                None if fallback.is_empty() => return Err(v.clone()),
                None => {
                    let i = pick.pick(fallback.len());
                    render_seq(&fallback[i], lead, pick, out)?;
                }
            },
            Node::Spin(alts) => {
                let i = pick.pick(alts.len());
                render_seq(&alts[i], lead, pick, out)?;
            }
        }
    }
    Ok(())
}

/// Parses up to the end, or (inside a group) up to the `|` or `}` that ends the alternative.
fn parse_seq(chars: &[char], at: &mut usize, in_group: bool) -> Result<Vec<Node>, TemplateError> {
    let mut nodes = Vec::new();
    let mut text = String::new();
    while *at < chars.len() {
        let c = chars[*at];
        let next = chars.get(*at + 1).copied();
        match c {
            '{' if next == Some('{') => {
                text.push('{');
                *at += 2;
            }
            '}' if next == Some('}') && !in_group => {
                text.push('}');
                *at += 2;
            }
            '{' => {
                if !text.is_empty() {
                    nodes.push(Node::Text(std::mem::take(&mut text)));
                }
                nodes.push(parse_group(chars, at)?);
            }
            '}' | '|' if in_group => break,
            '}' => return Err(TemplateError::Unopened(*at + 1)),
            _ => {
                text.push(c);
                *at += 1;
            }
        }
    }
    if !text.is_empty() {
        nodes.push(Node::Text(text));
    }
    Ok(nodes)
}

/// `{a|b|…}` from the `{` at `at`: a variable with fallbacks when `a` names one, else spintax.
fn parse_group(chars: &[char], at: &mut usize) -> Result<Node, TemplateError> {
    let open = *at;
    *at += 1;
    let mut alts = Vec::new();
    loop {
        alts.push(parse_seq(chars, at, true)?);
        match chars.get(*at) {
            Some('|') => *at += 1,
            Some('}') => {
                *at += 1;
                break;
            }
            _ => return Err(TemplateError::Unclosed(open + 1)),
        }
    }
    let first_var = match alts.first().map(Vec::as_slice) {
        Some([Node::Text(t)]) => Var::parse(t),
        _ => None,
    };
    if let Some(v) = first_var {
        alts.remove(0);
        return Ok(Node::Var(v, alts));
    }
    if alts.len() < 2 {
        let name = match alts.first().map(Vec::as_slice) {
            Some([Node::Text(t)]) => t.clone(),
            _ => String::new(),
        };
        return Err(TemplateError::UnknownVariable(name));
    }
    Ok(Node::Spin(alts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(first: &str) -> Lead {
        use crate::model::{LeadInput, Source};
        use crate::store::merge::{create, Withheld};
        let c =
            LeadInput { username: Some("ann_k".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
        let mut l = create(7, "u:t", "t", 0, c, Withheld::default()).0;
        l.first_name = first.into();
        l.custom_fields.insert("company".into(), "Acme".into());
        l
    }

    #[test]
    fn variables_fallbacks_and_fields() {
        let t = Template::parse("Hi {first_name|there}, how is {field:Company}?").unwrap();
        assert_eq!(t.render(&lead("Ann"), 1).unwrap(), "Hi Ann, how is Acme?");
        assert_eq!(t.render(&lead(""), 1).unwrap(), "Hi there, how is Acme?");
        let strict = Template::parse("Hi {first_name}").unwrap();
        assert_eq!(strict.render(&lead(""), 1), Err(Var::FirstName));
        assert_eq!(strict.variables(), vec![(Var::FirstName, false)]);
        assert_eq!(t.variables(), vec![(Var::FirstName, true), (Var::Field("company".into()), false)]);
    }

    #[test]
    fn spintax_is_deterministic_per_lead_and_seed() {
        let t = Template::parse("{Hi|Hello|Hey} {first_name|there}! {Nice {day|week}|Good luck}.").unwrap();
        let a = t.render(&lead("Ann"), 42).unwrap();
        assert_eq!(a, t.render(&lead("Ann"), 42).unwrap(), "the same lead renders the same text twice");
        let mut seen = std::collections::BTreeSet::new();
        for id in 0..200 {
            let mut l = lead("Ann");
            l.id = id;
            seen.insert(t.render(&l, 42).unwrap());
        }
        assert!(seen.len() > 4, "choices vary between leads: {seen:?}");
        assert!(seen.iter().all(|s| !s.contains('{') && !s.contains('|')));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(Template::parse("Hi {frist_name}"), Err(TemplateError::UnknownVariable("frist_name".into())));
        assert_eq!(Template::parse("Hi {first_name"), Err(TemplateError::Unclosed(4)));
        assert_eq!(Template::parse("Hi }"), Err(TemplateError::Unopened(4)));
        assert_eq!(Template::parse("  "), Err(TemplateError::Empty));
        let braces = Template::parse("{{literal}} {a|b}").unwrap();
        assert!(braces.render(&lead("A"), 0).unwrap().starts_with("{literal} "));
    }
}
