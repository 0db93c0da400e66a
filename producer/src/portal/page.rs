//! The page frame every portal page shares, and HTML escaping (all text the portal shows
//! passes through [`escape`]: client input is echoed back into the form).

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

/// A whole page: `title` is text (escaped here), `main` is HTML.
pub fn layout(title: &str, main: &str) -> String {
    frame(title, main, "")
}

/// [`layout`] for a page of tables, as wide as the screen allows.
pub fn wide_layout(title: &str, main: &str) -> String {
    frame(title, main, " class=\"wide\"")
}

fn frame(title: &str, main: &str, main_attributes: &str) -> String {
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
<header class="bar"><a href="/" class="brand">eda</a><span>client portal</span><nav><a href="/" id="nav-order">Order</a> <a href="/tenants" id="nav-tenants">Tenants</a></nav></header>
<main{main_attributes}>
{main}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
