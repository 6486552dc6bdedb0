//! Link types: the ratified link types of the GS1 Web Vocabulary (release 1.16, terms with
//! status "stable" that are sub-properties of `gs1:linkType`), and tracegate's own
//! vocabulary for what only tracegate can say. A link type defined by tracegate never
//! duplicates one GS1 defines (GS1-Conformant Resolver 1.2.0, section 2.14).

/// The GS1 Web Vocabulary namespace, as linksets write it.
pub const GS1: &str = "https://gs1.org/voc/";

/// Other spellings of the GS1 namespace that requests and inputs may use.
const GS1_ALIASES: &[&str] = &[
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://ref.gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "http://www.gs1.org/voc/",
];

/// tracegate's vocabulary namespace. It is fixed, not derived from where a tracegate
/// runs, so that apps recognise the terms whatever the host; every tracegate describes
/// the terms at `/voc`.
pub const TRACEGATE: &str = "https://w3id.org/tracegate/voc/";

/// The JSON-LD context GS1 publishes for linksets (GS1-Conformant Resolver 1.2.0).
pub const LINKSET_CONTEXT: &str = "https://ref.gs1.org/standards/resolver/linkset-context";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    Gs1,
    Tracegate,
}

/// Who may publish links of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Any code's issuer or owner.
    Open,
    /// Only the resolver itself (`gs1:defaultLink`, and what tracegate vouches for).
    Resolver,
    /// GS1 restricts it to validated healthcare content, which tracegate does not validate.
    ValidatedHealthcare,
}

/// One link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType {
    pub namespace: Namespace,
    pub name: &'static str,
}

struct Term {
    name: &'static str,
    title: &'static str,
    usage: Use,
}

const fn open(name: &'static str, title: &'static str) -> Term {
    Term {
        name,
        title,
        usage: Use::Open,
    }
}

/// The stable link types of the GS1 Web Vocabulary 1.16 (the deprecated
/// `productSustainabilityInfo` is left out).
const GS1_TERMS: &[Term] = &[
    open("activityIdeas", "Activity ideas"),
    open("allergenInfo", "Allergen information"),
    open("appDownload", "App download"),
    open("backgroundInfo", "Background information"),
    open(
        "brandHomepageClinical",
        "Information for professionals about this brand",
    ),
    open(
        "brandHomepagePatient",
        "Information for patients about this brand",
    ),
    open("careersInfo", "Careers information"),
    open("certificationInfo", "Certification information"),
    open(
        "consumerHandlingStorageInfo",
        "Consumer handling and storage information",
    ),
    Term {
        name: "defaultLink",
        title: "Default link",
        usage: Use::Resolver,
    },
    Term {
        name: "defaultLinkMulti",
        title: "Default link (multiple)",
        usage: Use::Resolver,
    },
    open("dpp", "Digital product passport"),
    Term {
        name: "eifu",
        title: "Electronic instructions for use",
        usage: Use::ValidatedHealthcare,
    },
    open("epcis", "EPCIS repository"),
    Term {
        name: "epil",
        title: "Electronic patient information leaflet",
        usage: Use::ValidatedHealthcare,
    },
    open("eventsInfo", "Events information"),
    open("faqs", "Frequently asked questions"),
    Term {
        name: "handledBy",
        title: "Handled by",
        usage: Use::Resolver,
    },
    open("hasRetailers", "Retailers"),
    open("homepage", "Organisation information page"),
    open("ingredientsInfo", "Ingredients information"),
    open("instructions", "Instructions"),
    Term {
        name: "jws",
        title: "JSON Web Signature",
        usage: Use::Resolver,
    },
    open("leaveReview", "Leave a review"),
    open("locationInfo", "Location information"),
    open("logisticsInfo", "Logistics information"),
    open("loyaltyProgram", "Loyalty program"),
    open("masterData", "Master data"),
    open("menuInfo", "Menu information"),
    open("nutritionalInfo", "Nutritional information"),
    open("openingHoursInfo", "Opening hours information"),
    open("paymentLink", "Make payment"),
    open("pip", "Product information page"),
    open("promotion", "Promotion"),
    open(
        "purchaseSuppliesOrAccessories",
        "Purchase supplies or accessories",
    ),
    open("quickStartGuide", "Quick start guide"),
    Term {
        name: "recallStatus",
        title: "Recall status",
        usage: Use::Resolver,
    },
    open("recipeInfo", "Recipe website"),
    open("registerProduct", "Register purchase"),
    open("registryEntry", "Entry in a register"),
    open("relatedImage", "Related image"),
    open("relatedVideo", "Related video"),
    open("reportFound", "Report found"),
    open("review", "Reviews"),
    open("safetyInfo", "Safety information"),
    open("scheduleTime", "Scheduling and reservation"),
    open("serviceInfo", "Service information"),
    open("smartLabel", "SmartLabel"),
    Term {
        name: "smpc",
        title: "Summary of product characteristics",
        usage: Use::ValidatedHealthcare,
    },
    open("socialMedia", "Social media"),
    open("statisticInfo", "Statistics"),
    open("subscribe", "Subscribe"),
    open("support", "Support"),
    open("sustainabilityInfo", "Sustainability and recycling"),
    open("traceability", "Traceability information"),
    open("tutorial", "Tutorial"),
    open("userAgreement", "Sign waiver, agreement or document"),
    open("verificationService", "Verification service"),
    open("whatsInTheBox", "What's in the box"),
];

/// tracegate's own terms (documented at `/voc` and in the README).
const TRACEGATE_TERMS: &[(Term, &str)] = &[
    (
        Term {
            name: "legalEntity",
            title: "Legal entity verified by tracegate",
            usage: Use::Resolver,
        },
        "The legal entity that stands behind the identified item, as tracegate verified it against the national business register: legal name, enterprise code (masked where it identifies a natural person), province. The target is a JSON document.",
    ),
    (
        Term {
            name: "qrCode",
            title: "QR code",
            usage: Use::Resolver,
        },
        "An SVG image of a QR code that carries the item's GS1 Digital Link URI on this resolver.",
    ),
];

/// `gs1:defaultLink`.
pub const DEFAULT_LINK: LinkType = LinkType::gs1("defaultLink");
/// `gs1:traceability`: tracegate's verification page is published under it too.
pub const TRACEABILITY: LinkType = LinkType::gs1("traceability");
/// `gs1:recallStatus`: the code's status and any recall.
pub const RECALL_STATUS: LinkType = LinkType::gs1("recallStatus");
/// `gs1:jws`: a statement of the status, signed with the attestation key.
pub const JWS: LinkType = LinkType::gs1("jws");
/// `tracegate:legalEntity`.
pub const LEGAL_ENTITY: LinkType = LinkType::tracegate("legalEntity");
/// `tracegate:qrCode`.
pub const QR_CODE: LinkType = LinkType::tracegate("qrCode");

impl LinkType {
    const fn gs1(name: &'static str) -> Self {
        Self {
            namespace: Namespace::Gs1,
            name,
        }
    }

    const fn tracegate(name: &'static str) -> Self {
        Self {
            namespace: Namespace::Tracegate,
            name,
        }
    }

    fn term(self) -> Option<&'static Term> {
        match self.namespace {
            Namespace::Gs1 => GS1_TERMS.iter().find(|t| t.name == self.name),
            Namespace::Tracegate => TRACEGATE_TERMS
                .iter()
                .map(|(t, _)| t)
                .find(|t| t.name == self.name),
        }
    }

    /// Reads a link type written as a CURIE (`gs1:pip`, `tracegate:qrCode`) or a full URI
    /// in any spelling of its namespace. `None` for anything not in either vocabulary.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (namespace, name) = if let Some(name) = text.strip_prefix("gs1:") {
            (Namespace::Gs1, name)
        } else if let Some(name) = text.strip_prefix("tracegate:") {
            (Namespace::Tracegate, name)
        } else if let Some(name) = text.strip_prefix(TRACEGATE) {
            (Namespace::Tracegate, name)
        } else if let Some(name) = GS1_ALIASES.iter().find_map(|ns| text.strip_prefix(ns)) {
            (Namespace::Gs1, name)
        } else {
            return None;
        };
        let terms: Box<dyn Iterator<Item = &'static Term>> = match namespace {
            Namespace::Gs1 => Box::new(GS1_TERMS.iter()),
            Namespace::Tracegate => Box::new(TRACEGATE_TERMS.iter().map(|(t, _)| t)),
        };
        terms
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| LinkType {
                namespace,
                name: t.name,
            })
    }

    /// The full URI: the key of this link type in a linkset.
    pub fn uri(self) -> String {
        match self.namespace {
            Namespace::Gs1 => format!("{GS1}{}", self.name),
            Namespace::Tracegate => format!("{TRACEGATE}{}", self.name),
        }
    }

    /// `gs1:pip`, `tracegate:qrCode`.
    pub fn curie(self) -> String {
        match self.namespace {
            Namespace::Gs1 => format!("gs1:{}", self.name),
            Namespace::Tracegate => format!("tracegate:{}", self.name),
        }
    }

    /// The vocabulary's English label.
    pub fn title(self) -> &'static str {
        self.term().map_or(self.name, |t| t.title)
    }

    /// Who may publish links of this type.
    pub fn usage(self) -> Use {
        self.term().map_or(Use::Resolver, |t| t.usage)
    }
}

/// The link types an issuer or owner may publish, as CURIEs (for error messages and docs).
pub fn open_types() -> Vec<String> {
    GS1_TERMS
        .iter()
        .filter(|t| t.usage == Use::Open)
        .map(|t| format!("gs1:{}", t.name))
        .collect()
}

/// tracegate's vocabulary as JSON-LD, served at `/voc`.
pub fn tracegate_vocabulary() -> serde_json::Value {
    let terms: Vec<serde_json::Value> = TRACEGATE_TERMS
        .iter()
        .map(|(term, comment)| {
            serde_json::json!({
                "@id": format!("tracegate:{}", term.name),
                "@type": "rdf:Property",
                "rdfs:subPropertyOf": { "@id": "gs1:linkType" },
                "rdfs:label": { "@language": "en", "@value": term.title },
                "rdfs:comment": { "@language": "en", "@value": comment },
            })
        })
        .collect();
    serde_json::json!({
        "@context": {
            "tracegate": TRACEGATE,
            "gs1": GS1,
            "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        },
        "@id": TRACEGATE,
        "rdfs:label": "tracegate link types",
        "rdfs:comment": "Link types for what only tracegate can say about a traceability code. They never duplicate a link type of the GS1 Web Vocabulary.",
        "@graph": terms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_gs1_link_type_is_the_same_type() {
        let pip = LinkType::parse("gs1:pip").expect("known");
        for spelling in [
            "https://gs1.org/voc/pip",
            "https://ref.gs1.org/voc/pip",
            "http://gs1.org/voc/pip",
            "https://www.gs1.org/voc/pip",
        ] {
            assert_eq!(LinkType::parse(spelling), Some(pip), "{spelling}");
        }
        assert_eq!(pip.uri(), "https://gs1.org/voc/pip");
        assert_eq!(pip.curie(), "gs1:pip");
    }

    #[test]
    fn unknown_and_unratified_types_are_not_read() {
        assert_eq!(LinkType::parse("gs1:nosuchlt"), None);
        assert_eq!(LinkType::parse("gs1:qrCode"), None, "not a GS1 link type");
        assert_eq!(
            LinkType::parse("gs1:productSustainabilityInfo"),
            None,
            "deprecated"
        );
        assert_eq!(LinkType::parse("schema:url"), None);
        assert_eq!(LinkType::parse("pip"), None);
    }

    #[test]
    fn tracegate_terms_live_in_their_own_namespace() {
        assert_eq!(LinkType::parse("tracegate:qrCode"), Some(QR_CODE));
        assert_eq!(
            LinkType::parse("https://w3id.org/tracegate/voc/legalEntity"),
            Some(LEGAL_ENTITY)
        );
        for (term, _) in TRACEGATE_TERMS {
            assert!(
                GS1_TERMS.iter().all(|g| g.name != term.name),
                "{} duplicates a GS1 link type",
                term.name
            );
        }
    }

    #[test]
    fn resolver_types_are_not_open_to_owners() {
        for curie in [
            "gs1:defaultLink",
            "gs1:recallStatus",
            "gs1:jws",
            "gs1:handledBy",
        ] {
            let t = LinkType::parse(curie).expect("known");
            assert_eq!(t.usage(), Use::Resolver, "{curie}");
        }
        assert_eq!(
            LinkType::parse("gs1:epil").map(LinkType::usage),
            Some(Use::ValidatedHealthcare)
        );
        assert!(open_types().contains(&"gs1:pip".to_string()));
    }
}
