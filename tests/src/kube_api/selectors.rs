//! Label and field selectors, as list and watch requests send them.

use serde_json::Value;

/// A parsed `labelSelector` plus `fieldSelector`; an empty one matches everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    labels: Vec<LabelRequirement>,
    fields: Vec<FieldRequirement>,
}

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    path: String,
    value: String,
    equal: bool,
}

impl Selector {
    pub(crate) fn parse(label_selector: Option<&str>, field_selector: Option<&str>) -> Result<Self, String> {
        let labels = split_top_level(label_selector.unwrap_or(""))
            .into_iter()
            .map(|r| parse_label_requirement(&r))
            .collect::<Result<_, _>>()?;
        let fields = split_top_level(field_selector.unwrap_or(""))
            .into_iter()
            .map(|r| parse_field_requirement(&r))
            .collect::<Result<_, _>>()?;
        Ok(Self { labels, fields })
    }

    pub(crate) fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        let labels_match = self.labels.iter().all(|req| match req {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::DoesNotExist(k) => label(k).is_none(),
        });
        labels_match
            && self.fields.iter().all(|req| (field_value(object, &req.path) == req.value) == req.equal)
    }
}

/// The value at a dotted path (`metadata.name`, `involvedObject.kind`) as a string; `""`
/// when absent, which is how the API server compares missing fields too.
fn field_value(object: &Value, path: &str) -> String {
    let found = path.split('.').try_fold(object, |v, segment| v.get(segment));
    match found {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Splits on commas that are not inside `( … )`, so `env in (a,b),tier` is two requirements.
fn split_top_level(selector: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn parse_label_requirement(req: &str) -> Result<LabelRequirement, String> {
    if let Some((key, values)) = split_set(req, " notin ") {
        return Ok(LabelRequirement::NotIn(key, values?));
    }
    if let Some((key, values)) = split_set(req, " in ") {
        return Ok(LabelRequirement::In(key, values?));
    }
    if let Some((k, v)) = req.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
        return Ok(LabelRequirement::Equals(k.trim().into(), v.trim().into()));
    }
    if let Some(k) = req.strip_prefix('!') {
        return Ok(LabelRequirement::DoesNotExist(k.trim().into()));
    }
    if req.contains(|c: char| c.is_whitespace() || "()<>".contains(c)) {
        return Err(format!("unable to parse requirement: {req:?}"));
    }
    Ok(LabelRequirement::Exists(req.into()))
}

type SetRequirement = (String, Result<Vec<String>, String>);

fn split_set(req: &str, operator: &str) -> Option<SetRequirement> {
    let (key, rest) = req.split_once(operator)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
        .ok_or_else(|| format!("set requirement needs parentheses: {req:?}"));
    Some((key.trim().to_string(), values))
}

fn parse_field_requirement(req: &str) -> Result<FieldRequirement, String> {
    let (path, value, equal) = if let Some((p, v)) = req.split_once("!=") {
        (p, v, false)
    } else if let Some((p, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
        (p, v, true)
    } else {
        return Err(format!("invalid field selector: {req:?}"));
    };
    Ok(FieldRequirement { path: path.trim().into(), value: value.trim().into(), equal })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object() -> Value {
        json!({"metadata": {"name": "n1", "namespace": "c1",
            "labels": {"app.kubernetes.io/managed-by": "eda-provisioner", "env": "dev"}},
            "type": "Warning"})
    }

    fn matches(labels: &str, fields: &str) -> bool {
        Selector::parse(Some(labels), Some(fields)).unwrap().matches(&object())
    }

    #[test]
    fn equality_inequality_and_existence_requirements_are_anded() {
        assert!(matches("app.kubernetes.io/managed-by=eda-provisioner,env!=prod", ""));
        assert!(matches("env==dev,app.kubernetes.io/managed-by", ""));
        assert!(!matches("env=prod", ""));
        assert!(!matches("!env", ""));
        assert!(matches("!tier", ""));
    }

    #[test]
    fn set_requirements_may_contain_commas() {
        assert!(matches("env in (prod, dev),app.kubernetes.io/managed-by", ""));
        assert!(!matches("env notin (dev)", ""));
        assert!(matches("tier notin (web)", ""));
    }

    #[test]
    fn field_selectors_compare_dotted_paths() {
        assert!(matches("", "metadata.name=n1,metadata.namespace=c1"));
        assert!(matches("", "type!=Normal"));
        assert!(!matches("", "metadata.namespace=other"));
    }

    #[test]
    fn a_malformed_selector_is_rejected() {
        assert!(Selector::parse(Some("env in dev"), None).is_err());
        assert!(Selector::parse(None, Some("metadata.name")).is_err());
    }
}
