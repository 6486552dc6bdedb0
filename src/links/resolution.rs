//! What a GS1-Conformant resolver answers, given the links of every level of a request:
//! the default link, the link of a requested type (by language, media type and context),
//! several links to choose from, or the linkset (RFC 9264 JSON, as GS1's linkset schema
//! requires). Pure: the HTTP layer turns the [`Answer`] into a response.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::vocabulary::{self, LinkType};

/// One link as a linkset shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub link_type: LinkType,
    pub href: String,
    pub title: String,
    /// Languages of the target (`vi`, `en-GB`); empty when it has none in particular.
    pub hreflang: Vec<String>,
    pub media_type: Option<String>,
    pub context: Option<String>,
}

/// A link's members, in the order a JSON object's keys are everywhere else (sorted).
struct LinkJson<'a>(&'a Link);

impl Serialize for LinkJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let link = self.0;
        // The default link carries href and title only (GS1-Conformant Resolver 2.5.8).
        let full = link.link_type != vocabulary::DEFAULT_LINK;
        let mut map = serializer.serialize_map(None)?;
        if full && let Some(context) = &link.context {
            map.serialize_entry("context", &[context])?;
        }
        map.serialize_entry("href", &link.href)?;
        if full && !link.hreflang.is_empty() {
            map.serialize_entry("hreflang", &link.hreflang)?;
        }
        map.serialize_entry("title", &link.title)?;
        if full && let Some(media_type) = &link.media_type {
            map.serialize_entry("type", media_type)?;
        }
        map.end()
    }
}

/// The links of one level of the request (item, lot or product), anchored at that level's
/// uncompressed GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelLinks {
    pub anchor: String,
    pub item_description: String,
    pub links: Vec<Link>,
}

/// What the client asked for with `linkType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// No link type: the default link.
    Default,
    /// `linkset` (or the deprecated `all`), or `Accept: application/linkset+json`.
    Linkset,
    Type(LinkType),
    /// A link type neither vocabulary defines: no item has it.
    Unknown(String),
}

impl Wanted {
    /// Reads the `linkType` parameter.
    pub fn parse(link_type: Option<&str>) -> Self {
        match link_type.map(str::trim) {
            None | Some("") => Wanted::Default,
            Some("linkset" | "all") => Wanted::Linkset,
            Some(text) => LinkType::parse(text)
                .map_or_else(|| Wanted::Unknown(text.to_string()), Wanted::Type),
        }
    }
}

/// Preferences a request states: languages and media types in order of preference, and
/// the `context` parameter.
#[derive(Debug, Clone, Default)]
pub struct Preferences {
    pub languages: Vec<String>,
    pub media_types: Vec<String>,
    pub context: Option<String>,
}

/// The values of an `Accept` or `Accept-Language` header, best first (q = 0 left out).
pub fn ranked(header: Option<&str>) -> Vec<String> {
    let Some(header) = header else {
        return Vec::new();
    };
    let mut items: Vec<(String, f32, usize)> = header
        .split(',')
        .enumerate()
        .filter_map(|(index, item)| {
            let mut parts = item.split(';');
            let value = parts.next()?.trim().to_ascii_lowercase();
            if value.is_empty() {
                return None;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((value, q, index))
        })
        .collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    items.into_iter().map(|(value, _, _)| value).collect()
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<'a> {
    /// 307 to this link.
    Redirect(&'a Link),
    /// 300: these links are equally good; the client chooses.
    Choices(&'a LevelLinks, Vec<&'a Link>),
    /// 200 with the linkset.
    Linkset,
    /// 404: no level has a link of this type.
    NoSuchLinkType(String),
}

/// Chooses the answer. `levels` run from the most specific level of the request up to its
/// primary key, and the first carries the default link.
pub fn choose<'a>(levels: &'a [LevelLinks], wanted: &Wanted, prefs: &Preferences) -> Answer<'a> {
    let link_type = match wanted {
        Wanted::Linkset => return Answer::Linkset,
        Wanted::Unknown(text) => return Answer::NoSuchLinkType(text.clone()),
        Wanted::Default => vocabulary::DEFAULT_LINK,
        Wanted::Type(t) => *t,
    };
    // The most specific level that has links of the type answers for it.
    let Some(level) = levels
        .iter()
        .find(|l| l.links.iter().any(|k| k.link_type == link_type))
    else {
        return Answer::NoSuchLinkType(link_type.curie());
    };
    let candidates: Vec<&Link> = level
        .links
        .iter()
        .filter(|k| k.link_type == link_type)
        .collect();
    let candidates = by_context(candidates, prefs.context.as_deref());
    let candidates = by_language(candidates, &prefs.languages);
    let candidates = by_media_type(candidates, &prefs.media_types);
    match candidates.as_slice() {
        [one] => Answer::Redirect(one),
        _ => Answer::Choices(level, candidates),
    }
}

fn by_context<'a>(links: Vec<&'a Link>, context: Option<&str>) -> Vec<&'a Link> {
    let Some(context) = context else {
        return links;
    };
    let matching: Vec<&Link> = links
        .iter()
        .copied()
        .filter(|l| {
            l.context
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(context))
        })
        .collect();
    if !matching.is_empty() {
        return matching;
    }
    let general: Vec<&Link> = links
        .iter()
        .copied()
        .filter(|l| l.context.is_none())
        .collect();
    if general.is_empty() { links } else { general }
}

/// RFC 4647 lookup, simplified: the first preferred language that a link serves (exactly,
/// or by its primary subtag) selects the links that serve it; links in no particular
/// language stay only when no link names the language.
fn by_language<'a>(links: Vec<&'a Link>, languages: &[String]) -> Vec<&'a Link> {
    if links.len() < 2 {
        return links;
    }
    for range in languages {
        if range == "*" {
            break;
        }
        let primary = range.split('-').next().unwrap_or(range);
        let exact: Vec<&Link> = links
            .iter()
            .copied()
            .filter(|l| l.hreflang.iter().any(|h| h.eq_ignore_ascii_case(range)))
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let near: Vec<&Link> = links
            .iter()
            .copied()
            .filter(|l| {
                l.hreflang.iter().any(|h| {
                    h.split('-')
                        .next()
                        .is_some_and(|p| p.eq_ignore_ascii_case(primary))
                })
            })
            .collect();
        if !near.is_empty() {
            return near;
        }
    }
    links
}

fn by_media_type<'a>(links: Vec<&'a Link>, media_types: &[String]) -> Vec<&'a Link> {
    if links.len() < 2 {
        return links;
    }
    for range in media_types {
        if range == "*/*" {
            break;
        }
        let matching: Vec<&Link> = links
            .iter()
            .copied()
            .filter(|l| {
                l.media_type.as_deref().is_some_and(|t| {
                    let t = t.to_ascii_lowercase();
                    match range.strip_suffix("/*") {
                        Some(major) => t.starts_with(&format!("{major}/")),
                        None => t == *range,
                    }
                })
            })
            .collect();
        if !matching.is_empty() {
            return matching;
        }
    }
    links
}

/// The linkset of these levels (RFC 9264 JSON; valid against GS1's linkset schema),
/// written straight from the levels (a scan answers it, so no intermediate JSON values).
pub struct Linkset<'a>(pub &'a [LevelLinks]);

impl Serialize for Linkset<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("linkset", &self.0.iter().map(LevelJson).collect::<Vec<_>>())?;
        map.end()
    }
}

/// One level's members: anchor, itemDescription and one array per link type, keys sorted.
struct LevelJson<'a>(&'a LevelLinks);

enum Member<'a> {
    Text(&'a str),
    Links(Vec<LinkJson<'a>>),
}

impl Serialize for LevelJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let level = self.0;
        let mut members: Vec<(std::borrow::Cow<'_, str>, Member<'_>)> = vec![
            ("anchor".into(), Member::Text(&level.anchor)),
            (
                "itemDescription".into(),
                Member::Text(&level.item_description),
            ),
        ];
        for link in &level.links {
            let key = link.link_type.uri();
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some((_, Member::Links(list))) => list.push(LinkJson(link)),
                _ => members.push((key.into(), Member::Links(vec![LinkJson(link)]))),
            }
        }
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut map = serializer.serialize_map(Some(members.len()))?;
        for (key, member) in &members {
            match member {
                Member::Text(text) => map.serialize_entry(key, text)?,
                Member::Links(list) => map.serialize_entry(key, list)?,
            }
        }
        map.end()
    }
}

/// The linkset as a JSON value.
pub fn linkset(levels: &[LevelLinks]) -> Value {
    serde_json::to_value(Linkset(levels)).unwrap_or(Value::Null)
}

/// A linkset of some links of one level (the body of a 300 answer).
pub fn choices(level: &LevelLinks, links: &[&Link]) -> Value {
    let only = LevelLinks {
        anchor: level.anchor.clone(),
        item_description: level.item_description.clone(),
        links: links.iter().map(|l| (*l).clone()).collect(),
    };
    linkset(std::slice::from_ref(&only))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::vocabulary::{DEFAULT_LINK, TRACEABILITY};

    fn link(link_type: LinkType, href: &str, lang: &[&str], media: Option<&str>) -> Link {
        Link {
            link_type,
            href: href.into(),
            title: format!("title of {href}"),
            hreflang: lang.iter().map(|l| l.to_string()).collect(),
            media_type: media.map(str::to_string),
            context: None,
        }
    }

    fn pip() -> LinkType {
        LinkType::parse("gs1:pip").expect("known")
    }

    fn levels() -> Vec<LevelLinks> {
        vec![
            LevelLinks {
                anchor: "https://t.example/01/09506000134352/10/L1".into(),
                item_description: "Tea, lot L1".into(),
                links: vec![
                    link(DEFAULT_LINK, "https://t.example/verify?code=L1", &[], None),
                    link(
                        TRACEABILITY,
                        "https://t.example/verify?code=L1",
                        &["vi", "en"],
                        Some("text/html"),
                    ),
                ],
            },
            LevelLinks {
                anchor: "https://t.example/01/09506000134352".into(),
                item_description: "Tea".into(),
                links: vec![
                    link(DEFAULT_LINK, "https://t.example/verify?code=G", &[], None),
                    link(
                        pip(),
                        "https://brand.example/vi",
                        &["vi"],
                        Some("text/html"),
                    ),
                    link(
                        pip(),
                        "https://brand.example/en",
                        &["en"],
                        Some("text/html"),
                    ),
                    link(
                        pip(),
                        "https://brand.example/en.pdf",
                        &["en"],
                        Some("application/pdf"),
                    ),
                ],
            },
        ]
    }

    #[test]
    fn no_link_type_means_the_most_specific_default_link() {
        let levels = levels();
        let answer = choose(&levels, &Wanted::Default, &Preferences::default());
        assert!(
            matches!(answer, Answer::Redirect(l) if l.href == "https://t.example/verify?code=L1")
        );
    }

    #[test]
    fn a_link_type_is_looked_for_up_to_the_primary_key_then_by_language_and_type() {
        let levels = levels();
        let wanted = Wanted::parse(Some("gs1:pip"));
        let vi = Preferences {
            languages: ranked(Some("vi-VN,vi;q=0.9,en;q=0.5")),
            ..Default::default()
        };
        assert!(
            matches!(choose(&levels, &wanted, &vi), Answer::Redirect(l) if l.href.ends_with("/vi"))
        );
        let en_html = Preferences {
            languages: ranked(Some("en-GB")),
            media_types: ranked(Some("text/html,*/*;q=0.8")),
            ..Default::default()
        };
        assert!(
            matches!(choose(&levels, &wanted, &en_html), Answer::Redirect(l) if l.href.ends_with("/en"))
        );
        let en = Preferences {
            languages: ranked(Some("en")),
            ..Default::default()
        };
        assert!(
            matches!(choose(&levels, &wanted, &en), Answer::Choices(_, c) if c.len() == 2),
            "two English links, no media type preference: the client chooses"
        );
    }

    #[test]
    fn a_type_no_level_has_is_not_found() {
        let levels = levels();
        assert_eq!(
            choose(
                &levels,
                &Wanted::parse(Some("gs1:epcis")),
                &Preferences::default()
            ),
            Answer::NoSuchLinkType("gs1:epcis".into())
        );
        assert_eq!(
            choose(
                &levels,
                &Wanted::parse(Some("gs1:nosuchlt")),
                &Preferences::default()
            ),
            Answer::NoSuchLinkType("gs1:nosuchlt".into())
        );
        assert_eq!(Wanted::parse(Some("all")), Wanted::Linkset);
    }

    #[test]
    fn the_default_link_carries_only_href_and_title() {
        let value = linkset(&levels());
        let default = &value["linkset"][0]["https://gs1.org/voc/defaultLink"];
        assert_eq!(default.as_array().map(Vec::len), Some(1));
        assert_eq!(default[0].as_object().map(|o| o.len()), Some(2), "{value}");
        assert_eq!(
            value["linkset"][1]["https://gs1.org/voc/pip"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn accept_headers_are_ranked_by_quality_then_order() {
        assert_eq!(
            ranked(Some("en;q=0.5, vi, fr;q=0, de;q=0.5")),
            vec!["vi", "en", "de"]
        );
        assert!(ranked(None).is_empty());
    }
}
