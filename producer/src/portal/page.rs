//! The page frame every portal page shares (with who is signed in, and the sign-out form of
//! an OpenID Connect session), and HTML escaping (all text the portal shows passes through
//! [`escape`]: client input is echoed back into the form).

use crate::auth::csrf;
use crate::auth::identity::Identity;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page for `viewer`: `title` is text (escaped here), `main` is HTML.
pub fn layout(title: &str, main: &str, viewer: Option<&Identity>) -> String {
    frame(title, main, "", viewer)
}

/// [`layout`] for a page of tables, as wide as the screen allows.
pub fn wide_layout(title: &str, main: &str, viewer: Option<&Identity>) -> String {
    frame(title, main, " class=\"wide\"", viewer)
}

/// The hidden field that carries a session's CSRF token in a state-changing form.
pub fn csrf_field(viewer: Option<&Identity>) -> String {
    match viewer.and_then(|v| v.csrf.as_deref()) {
        Some(token) => {
            format!(r#"<input type="hidden" name="{}" value="{}">"#, csrf::FORM_FIELD, escape(token))
        }
        None => String::new(),
    }
}

/// Who is signed in, and the sign-out button of a session.
fn who(viewer: Option<&Identity>) -> String {
    let Some(viewer) = viewer else { return String::new() };
    let name = format!(r#" <span class="who" id="signed-in-as">{}</span>"#, escape(&viewer.name));
    if viewer.csrf.is_none() {
        return name;
    }
    format!(
        r#"{name} <form method="post" action="/logout" class="sign-out">{}<button type="submit" id="sign-out">Sign out</button></form>"#,
        csrf_field(Some(viewer))
    )
}

fn frame(title: &str, main: &str, main_attributes: &str, viewer: Option<&Identity>) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · eda</title>
<link rel="stylesheet" href="/assets/portal.css">
<script src="/assets/portal.js" defer></script>
<script src="/assets/tenants.js" defer></script>
</head>
<body>
<header class="bar"><a href="/" class="brand">eda</a><span>client portal</span><nav><a href="/" id="nav-order">Order</a> <a href="/tenants" id="nav-tenants">Tenants</a>{who}</nav></header>
<main{main_attributes}>
{main}
</main>
</body>
</html>
"#,
        title = escape(title),
        who = who(viewer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_page_carries_its_sign_out_form_and_token_and_others_do_not() {
        let mut viewer = Identity::operator("ann <ops>");
        let page = layout("T", "", Some(&viewer));
        assert!(page.contains("ann &lt;ops&gt;") && !page.contains("sign-out"), "{page}");
        viewer.csrf = Some("tok".into());
        let page = layout("T", "", Some(&viewer));
        assert!(
            page.contains(
                r#"<input type="hidden" name="csrf" value="tok"><button type="submit" id="sign-out">"#
            ),
            "{page}"
        );
        assert!(!layout("T", "", None).contains("signed-in-as"));
    }

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
