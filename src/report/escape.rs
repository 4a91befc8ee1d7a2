//! Escaping of untrusted text (plan names, operator names, reasons, server errors) for the
//! report's outputs: XML/HTML text and attributes, and Markdown table cells and prose.

use crate::text::sanitize;

/// Text for an XML or HTML text node or a quoted attribute: terminal escapes and controls
/// removed first (shown as a mark), then `& < > " '` as entities. `]]>` cannot survive:
/// its `>` becomes `&gt;`.
pub fn xml(s: &str) -> String {
    let clean = sanitize(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
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

/// Text for Markdown prose or a table cell: one line, with every character Markdown (or
/// the HTML it may contain) gives a meaning escaped, so a name cannot open a link, code
/// span, table column or tag.
pub fn md(s: &str) -> String {
    let clean = sanitize(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_cdata_end() {
        let s = xml("<script>alert('x')</script> ]]> & \"q\"");
        assert_eq!(
            s,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; ]]&gt; &amp; &quot;q&quot;"
        );
        assert!(!s.contains('<') && !s.contains("]]>"));
    }

    #[test]
    fn xml_drops_terminal_escapes() {
        let s = xml("ok\u{1b}[31mred\u{7}");
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s:?}");
        assert!(s.starts_with("ok"));
    }

    #[test]
    fn md_cannot_break_a_table_or_open_code() {
        let s = md("a|b `rm -rf` [x](http://e) <img src=x>\nnext");
        assert_eq!(
            s,
            "a\\|b \\`rm -rf\\` \\[x\\]\\(http://e\\) &lt;img src=x&gt; next"
        );
        // Every pipe is escaped: none can start a new column.
        assert!(!s.replace("\\|", "").contains('|'));
    }
}
