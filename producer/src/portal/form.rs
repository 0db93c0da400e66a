//! The purchase form, rendered with the values sent and each error next to its field.

use std::collections::HashMap;

use super::page::{csrf_field, escape, layout};
use crate::auth::identity::Identity;
use crate::catalog::{Catalog, ARCHTYPES};
use crate::error::FieldError;

/// What the form shows: values to keep and errors by field.
#[derive(Debug, Default)]
pub struct FormView {
    pub values: HashMap<String, String>,
    pub errors: Vec<FieldError>,
    /// A problem not tied to one field (the broker did not confirm the order).
    pub notice: Option<String>,
}

impl FormView {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| format!(r#"<p class="error" id="{field}-error">{}</p>"#, escape(&e.error)))
            .collect()
    }

    fn invalid(&self, field: &str) -> &'static str {
        if self.errors.iter().any(|e| e.field == field) {
            r#" aria-invalid="true""#
        } else {
            ""
        }
    }
}

/// The purchase page for `viewer` (its session's CSRF token in the form).
pub fn render(catalog: &Catalog, view: &FormView, viewer: Option<&Identity>) -> String {
    let products: Vec<(String, String)> = catalog
        .products
        .iter()
        .map(|(name, p)| {
            let label =
                if p.description.is_empty() { name.clone() } else { format!("{name} — {}", p.description) };
            (name.clone(), label)
        })
        .collect();
    let plain = |names: &[String]| names.iter().map(|n| (n.clone(), n.clone())).collect::<Vec<_>>();
    let archtypes: Vec<(String, String)> = ARCHTYPES.iter().map(|a| (a.to_string(), a.to_string())).collect();
    let notice = view
        .notice
        .as_ref()
        .map(|n| format!(r#"<p class="notice" role="alert">{}</p>"#, escape(n)))
        .unwrap_or_default();
    let summary = if view.errors.is_empty() {
        String::new()
    } else {
        r#"<p class="notice" role="alert">Please correct the fields marked below.</p>"#.into()
    };
    let main = format!(
        r#"<h1>Buy a product</h1>
{notice}{summary}
<form method="post" action="/" class="order" novalidate>
{csrf}{client}
{namespace}
{product}
{environment}
{archtype}
{hardware}
<button type="submit" id="submit">Place order</button>
</form>"#,
        csrf = csrf_field(viewer),
        client = text_field(
            view,
            "client",
            "Client",
            "lowercase letters, digits and '-' (it names your namespace)"
        ),
        namespace = text_field(view, "namespace", "Namespace (optional)", "defaults to the client name"),
        product = select(view, "product", "Product", &products),
        environment = select(view, "environment", "Environment", &plain(&catalog.environments)),
        archtype = select(view, "archtype", "Architecture type", &archtypes),
        hardware = select(view, "hardware", "Hardware", &plain(&catalog.hardware)),
    );
    layout("Buy a product", &main, viewer)
}

fn text_field(view: &FormView, name: &str, label: &str, hint: &str) -> String {
    format!(
        r#"<div class="field"><label for="{name}">{label}</label>
<input type="text" id="{name}" name="{name}" value="{value}" autocomplete="off" spellcheck="false" maxlength="63" aria-describedby="{name}-hint {name}-error"{invalid}>
<p class="hint" id="{name}-hint">{hint}</p>{error}</div>"#,
        label = escape(label),
        value = escape(view.value(name)),
        invalid = view.invalid(name),
        hint = escape(hint),
        error = view.error(name),
    )
}

fn select(view: &FormView, name: &str, label: &str, options: &[(String, String)]) -> String {
    let chosen = view.value(name);
    let options: String = options
        .iter()
        .map(|(value, text)| {
            let selected = if value == chosen { " selected" } else { "" };
            format!(r#"<option value="{}"{selected}>{}</option>"#, escape(value), escape(text))
        })
        .collect();
    format!(
        r#"<div class="field"><label for="{name}">{label}</label>
<select id="{name}" name="{name}" aria-describedby="{name}-error"{invalid}>{options}</select>{error}</div>"#,
        label = escape(label),
        invalid = view.invalid(name),
        error = view.error(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_shown_next_to_its_field_and_the_value_is_kept_escaped() {
        let catalog = Catalog::load(None).unwrap();
        let mut view = FormView::default();
        view.values.insert("client".into(), "<Bad>".into());
        view.values.insert("product".into(), "product-b".into());
        view.errors.push(FieldError::new("client", "client is invalid: has '<' at position 1"));
        let html = render(&catalog, &view, None);
        assert!(html.contains(r#"value="&lt;Bad&gt;""#));
        assert!(html.contains(r#"<p class="error" id="client-error">client is invalid: has &#39;&lt;&#39;"#));
        assert!(html.contains(r#"<option value="product-b" selected>"#));
        assert!(!html.contains("<Bad>"));
    }
}
