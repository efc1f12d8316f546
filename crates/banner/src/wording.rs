//! What the banner says, in the visitor's language: built-in translations
//! (English, German, French, Spanish), chosen from the browser's preferred
//! languages or forced by the script tag's `data-lang`, and the site's own
//! title, text and privacy-policy link, which replace the built-in ones.

/// A language the banner speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    English,
    German,
    French,
    Spanish,
}

impl Language {
    /// The first of `preferred` (BCP 47 tags, most preferred first, as in
    /// `navigator.languages`) that the banner speaks; English otherwise.
    pub fn choose<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Language {
        preferred
            .into_iter()
            .find_map(Language::from_tag)
            .unwrap_or(Language::English)
    }

    /// `de`, `de-AT`, `FR-ca` …: the primary subtag decides.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        let is = |code: &str| primary.eq_ignore_ascii_case(code);
        if is("en") {
            Some(Language::English)
        } else if is("de") {
            Some(Language::German)
        } else if is("fr") {
            Some(Language::French)
        } else if is("es") {
            Some(Language::Spanish)
        } else {
            None
        }
    }

    /// The `lang` attribute of the dialog.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
            Language::French => "fr",
            Language::Spanish => "es",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Language::English => &ENGLISH,
            Language::German => &GERMAN,
            Language::French => &FRENCH,
            Language::Spanish => &SPANISH,
        }
    }
}

/// One category's name and what it collects and why, in one plain line.
pub struct Category {
    pub name: &'static str,
    pub what: &'static str,
}

/// Every text the banner and the settings show, in one language.
pub struct Texts {
    pub title: &'static str,
    pub settings_title: &'static str,
    pub text: &'static str,
    pub gpc: &'static str,
    pub legend: &'static str,
    /// Necessary, then usage, errors, performance, marketing.
    pub categories: [Category; 5],
    pub gpc_marketing: &'static str,
    pub save: &'static str,
    pub reject: &'static str,
    pub choose: &'static str,
    pub accept: &'static str,
    pub erase: &'static str,
    pub close: &'static str,
    pub policy: &'static str,
    pub erasing: &'static str,
    /// "Erased N events and M consent records.", as (one, many) per noun.
    pub erased: &'static str,
    pub event: (&'static str, &'static str),
    pub and: &'static str,
    pub record: (&'static str, &'static str),
    pub older_data: &'static str,
    /// "Nothing was erased: " followed by one of the reasons.
    pub nothing_erased: &'static str,
    pub unreachable: &'static str,
    pub refused: &'static str,
}

/// What the site's operator wrote for its banner; each part replaces the
/// built-in one when present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteWording {
    pub title: Option<String>,
    pub text: Option<String>,
    /// An absolute `http(s)` URL; anything else is ignored.
    pub policy_url: Option<String>,
}

impl SiteWording {
    /// The policy link, if it is one the banner may show.
    pub fn policy_link(&self) -> Option<&str> {
        self.policy_url
            .as_deref()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
    }
}

const ENGLISH: Texts = Texts {
    title: "Your privacy on this site",
    settings_title: "Privacy settings",
    text: "This site would like to learn how it is used, without knowing who you are. \
           Nothing is collected until you choose, and you can change your mind at any time.",
    gpc: "Your browser sends Global Privacy Control, so we honour it: everything optional \
          starts off, and marketing stays off unless you tick it yourself.",
    legend: "Choose what this site may learn",
    categories: [
        Category {
            name: "Necessary",
            what: "Remembers this choice on your device. Always on; identifies nobody.",
        },
        Category {
            name: "Usage",
            what: "Which pages are visited and what is clicked, so the site can be improved.",
        },
        Category {
            name: "Errors",
            what: "Technical errors your browser runs into, so they can be fixed.",
        },
        Category {
            name: "Performance",
            what: "How fast pages load and respond on your device, so they can be made faster.",
        },
        Category {
            name: "Marketing",
            what: "Which campaign or website brought you here, so advertising can be judged.",
        },
    ],
    gpc_marketing: " Off because of Global Privacy Control; tick it only if you want to allow it.",
    save: "Save choices",
    reject: "Reject all",
    choose: "Choose",
    accept: "Accept all",
    erase: "Erase my data",
    close: "Close",
    policy: "Privacy policy",
    erasing: "Erasing…",
    erased: "Erased ",
    event: ("event", "events"),
    and: " and ",
    record: ("consent record", "consent records"),
    older_data: ". Older data needs no erasing: it was never linked to you, because the \
                 anonymous id it was counted under changes every day and yesterday's key is \
                 destroyed.",
    nothing_erased: "Nothing was erased: ",
    unreachable: "the server could not be reached; try again later.",
    refused: "the server refused the request.",
};

const GERMAN: Texts = Texts {
    title: "Ihre Privatsphäre auf dieser Website",
    settings_title: "Datenschutzeinstellungen",
    text: "Diese Website möchte erfahren, wie sie genutzt wird, ohne zu wissen, wer Sie sind. \
           Nichts wird erfasst, bevor Sie wählen, und Sie können Ihre Wahl jederzeit ändern.",
    gpc: "Ihr Browser sendet Global Privacy Control, und wir respektieren das: Alles Optionale \
          ist zunächst aus, und Marketing bleibt aus, solange Sie es nicht selbst ankreuzen.",
    legend: "Wählen Sie, was diese Website erfahren darf",
    categories: [
        Category {
            name: "Notwendig",
            what: "Speichert diese Wahl auf Ihrem Gerät. Immer an; identifiziert niemanden.",
        },
        Category {
            name: "Nutzung",
            what: "Welche Seiten besucht und was angeklickt wird, damit die Website besser wird.",
        },
        Category {
            name: "Fehler",
            what: "Technische Fehler in Ihrem Browser, damit sie behoben werden können.",
        },
        Category {
            name: "Leistung",
            what: "Wie schnell Seiten auf Ihrem Gerät laden und reagieren, damit sie schneller werden.",
        },
        Category {
            name: "Marketing",
            what: "Welche Kampagne oder Website Sie hergeführt hat, damit Werbung bewertet werden kann.",
        },
    ],
    gpc_marketing: " Aus wegen Global Privacy Control; kreuzen Sie es nur an, wenn Sie es erlauben möchten.",
    save: "Auswahl speichern",
    reject: "Alle ablehnen",
    choose: "Auswählen",
    accept: "Alle akzeptieren",
    erase: "Meine Daten löschen",
    close: "Schließen",
    policy: "Datenschutzerklärung",
    erasing: "Wird gelöscht…",
    erased: "Gelöscht: ",
    event: ("Ereignis", "Ereignisse"),
    and: " und ",
    record: ("Einwilligungseintrag", "Einwilligungseinträge"),
    older_data: ". Ältere Daten müssen nicht gelöscht werden: Sie waren nie mit Ihnen verknüpft, \
                 denn die anonyme Kennung, unter der sie gezählt wurden, wechselt täglich, und \
                 der Schlüssel von gestern ist vernichtet.",
    nothing_erased: "Nichts wurde gelöscht: ",
    unreachable: "Der Server war nicht erreichbar; versuchen Sie es später erneut.",
    refused: "Der Server hat die Anfrage abgelehnt.",
};

const FRENCH: Texts = Texts {
    title: "Votre vie privée sur ce site",
    settings_title: "Paramètres de confidentialité",
    text: "Ce site aimerait savoir comment il est utilisé, sans savoir qui vous êtes. \
           Rien n'est collecté avant votre choix, et vous pouvez changer d'avis à tout moment.",
    gpc: "Votre navigateur envoie Global Privacy Control, et nous le respectons : tout ce qui \
          est facultatif est désactivé, et le marketing le reste sauf si vous le cochez vous-même.",
    legend: "Choisissez ce que ce site peut apprendre",
    categories: [
        Category {
            name: "Nécessaire",
            what: "Retient ce choix sur votre appareil. Toujours actif ; n'identifie personne.",
        },
        Category {
            name: "Utilisation",
            what: "Les pages visitées et les clics, pour améliorer le site.",
        },
        Category {
            name: "Erreurs",
            what: "Les erreurs techniques rencontrées par votre navigateur, pour les corriger.",
        },
        Category {
            name: "Performance",
            what: "La vitesse de chargement et de réaction des pages sur votre appareil, pour les accélérer.",
        },
        Category {
            name: "Marketing",
            what: "La campagne ou le site qui vous a amené ici, pour évaluer la publicité.",
        },
    ],
    gpc_marketing: " Désactivé à cause de Global Privacy Control ; cochez-le seulement si vous voulez l'autoriser.",
    save: "Enregistrer mes choix",
    reject: "Tout refuser",
    choose: "Choisir",
    accept: "Tout accepter",
    erase: "Effacer mes données",
    close: "Fermer",
    policy: "Politique de confidentialité",
    erasing: "Effacement…",
    erased: "Effacé : ",
    event: ("événement", "événements"),
    and: " et ",
    record: (
        "enregistrement de consentement",
        "enregistrements de consentement",
    ),
    older_data: ". Les données plus anciennes n'ont pas besoin d'être effacées : elles n'ont \
                 jamais été liées à vous, car l'identifiant anonyme sous lequel elles ont été \
                 comptées change chaque jour et la clé de la veille est détruite.",
    nothing_erased: "Rien n'a été effacé : ",
    unreachable: "le serveur est injoignable ; réessayez plus tard.",
    refused: "le serveur a refusé la demande.",
};

const SPANISH: Texts = Texts {
    title: "Su privacidad en este sitio",
    settings_title: "Ajustes de privacidad",
    text: "Este sitio quiere saber cómo se usa, sin saber quién es usted. \
           No se recoge nada hasta que usted elija, y puede cambiar de opinión en cualquier momento.",
    gpc: "Su navegador envía Global Privacy Control y lo respetamos: todo lo opcional empieza \
          desactivado, y el marketing sigue desactivado salvo que usted lo marque.",
    legend: "Elija qué puede saber este sitio",
    categories: [
        Category {
            name: "Necesario",
            what: "Recuerda esta elección en su dispositivo. Siempre activo; no identifica a nadie.",
        },
        Category {
            name: "Uso",
            what: "Qué páginas se visitan y qué se pulsa, para mejorar el sitio.",
        },
        Category {
            name: "Errores",
            what: "Errores técnicos que encuentra su navegador, para poder corregirlos.",
        },
        Category {
            name: "Rendimiento",
            what: "Lo rápido que cargan y responden las páginas en su dispositivo, para mejorarlas.",
        },
        Category {
            name: "Marketing",
            what: "Qué campaña o sitio le trajo aquí, para poder valorar la publicidad.",
        },
    ],
    gpc_marketing: " Desactivado por Global Privacy Control; márquelo solo si quiere permitirlo.",
    save: "Guardar selección",
    reject: "Rechazar todo",
    choose: "Elegir",
    accept: "Aceptar todo",
    erase: "Borrar mis datos",
    close: "Cerrar",
    policy: "Política de privacidad",
    erasing: "Borrando…",
    erased: "Borrado: ",
    event: ("evento", "eventos"),
    and: " y ",
    record: ("registro de consentimiento", "registros de consentimiento"),
    older_data: ". Los datos anteriores no necesitan borrarse: nunca estuvieron vinculados a \
                 usted, porque el identificador anónimo con el que se contaron cambia cada día \
                 y la clave de ayer se destruye.",
    nothing_erased: "No se borró nada: ",
    unreachable: "no se pudo contactar con el servidor; inténtelo más tarde.",
    refused: "el servidor rechazó la solicitud.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_preferred_language_the_banner_speaks_wins() {
        assert_eq!(Language::choose(["it-IT", "de-AT", "en"]), Language::German);
        assert_eq!(Language::choose(["FR-ca"]), Language::French);
        assert_eq!(Language::choose(["es_419"]), Language::Spanish);
        assert_eq!(Language::choose(["ja", "zh"]), Language::English);
        assert_eq!(Language::choose([]), Language::English);
    }

    #[test]
    fn only_a_web_address_is_shown_as_the_policy_link() {
        let wording = |url: &str| SiteWording {
            policy_url: Some(url.into()),
            ..SiteWording::default()
        };
        assert_eq!(
            wording("https://shop.example/privacy").policy_link(),
            Some("https://shop.example/privacy")
        );
        assert_eq!(wording("javascript:alert(1)").policy_link(), None);
        assert_eq!(SiteWording::default().policy_link(), None);
    }

    #[test]
    fn every_language_says_everything() {
        for language in [
            Language::English,
            Language::German,
            Language::French,
            Language::Spanish,
        ] {
            let t = language.texts();
            let all = [
                t.title,
                t.settings_title,
                t.text,
                t.gpc,
                t.legend,
                t.save,
                t.reject,
                t.choose,
                t.accept,
                t.erase,
                t.close,
                t.policy,
                t.erased,
                t.older_data,
                t.nothing_erased,
                t.unreachable,
                t.refused,
            ];
            assert!(all.iter().all(|s| !s.trim().is_empty()), "{language:?}");
            assert!(t.gpc.contains("Global Privacy Control"), "{language:?}");
            assert!(
                t.categories
                    .iter()
                    .all(|c| !c.name.is_empty() && !c.what.is_empty())
            );
        }
    }
}
