//! `--types`, `--reasons`, `--exclude-reasons`: which events are worth publishing at all.

use crate::kube_event::KubeEvent;

/// Case-insensitive allow and deny lists; an empty allow list allows everything.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    types: Vec<String>,
    reasons: Vec<String>,
    exclude_reasons: Vec<String>,
}

impl Filters {
    pub fn new(types: &[String], reasons: &[String], exclude_reasons: &[String]) -> Self {
        let clean = |list: &[String]| -> Vec<String> {
            list.iter().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect()
        };
        Filters { types: clean(types), reasons: clean(reasons), exclude_reasons: clean(exclude_reasons) }
    }

    /// Whether the event passes every list.
    pub fn allows(&self, event: &KubeEvent) -> bool {
        let kind = event.event_type.to_ascii_lowercase();
        let reason = event.reason.to_ascii_lowercase();
        (self.types.is_empty() || self.types.contains(&kind))
            && (self.reasons.is_empty() || self.reasons.contains(&reason))
            && !self.exclude_reasons.contains(&reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, reason: &str) -> KubeEvent {
        KubeEvent { event_type: kind.into(), reason: reason.into(), ..KubeEvent::default() }
    }

    fn list(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn empty_filters_allow_everything() {
        assert!(Filters::default().allows(&ev("Normal", "Pulled")));
    }

    #[test]
    fn types_and_reasons_match_case_insensitively() {
        let f = Filters::new(&list("warning"), &list("BACKOFF,FailedMount"), &[]);
        assert!(f.allows(&ev("Warning", "BackOff")));
        assert!(!f.allows(&ev("Normal", "BackOff")));
        assert!(!f.allows(&ev("Warning", "Pulled")));
    }

    #[test]
    fn excluded_reasons_win() {
        let f = Filters::new(&[], &[], &list(" Pulled , Created"));
        assert!(!f.allows(&ev("Normal", "pulled")));
        assert!(f.allows(&ev("Normal", "Started")));
    }
}
