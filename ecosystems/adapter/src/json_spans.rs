//! Where the members of a JSON object (and the elements of an array) lie in a document, as byte
//! ranges, so a document can be written again without some of them by copying the rest
//! verbatim: no tree is built, memory is the list of ranges of the one level asked for, and what
//! is kept is byte for byte what upstream sent.
//!
//! Nesting is skipped with a counter, not recursion, so no document can exhaust the stack.

use std::ops::Range;

/// One member of an object: its key (decoded) and where it lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub key: String,
    /// From the key's opening quote to the value's end: what to copy to keep the member.
    pub whole: Range<usize>,
    /// The value alone.
    pub value: Range<usize>,
}

/// A malformed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed JSON: {}", self.0)
    }
}

fn malformed<T>(what: &str, at: usize) -> Result<T, Malformed> {
    Err(Malformed(format!("{what} at byte {at}")))
}

fn skip_whitespace(doc: &[u8], mut at: usize) -> usize {
    while at < doc.len() && matches!(doc[at], b' ' | b'\t' | b'\r' | b'\n') {
        at += 1;
    }
    at
}

/// The end of the string that opens at `at` (a `"`).
fn skip_string(doc: &[u8], at: usize) -> Result<usize, Malformed> {
    let mut pos = at + 1;
    // Strings are most of a packument's bytes (readmes, descriptions): jump to the next quote
    // or backslash rather than step byte by byte.
    while let Some(found) = doc
        .get(pos..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        pos += found;
        match doc[pos] {
            b'"' => return Ok(pos + 1),
            _ => pos += 2,
        }
    }
    malformed("an unterminated string", at)
}

/// The end of the value that starts at `at` (after whitespace).
pub fn skip_value(doc: &[u8], at: usize) -> Result<usize, Malformed> {
    let Some(&first) = doc.get(at) else {
        return malformed("a missing value", at);
    };
    match first {
        b'"' => skip_string(doc, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut pos = at;
            while pos < doc.len() {
                match doc[pos] {
                    b'"' => {
                        pos = skip_string(doc, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
            malformed("an unclosed object or array", at)
        }
        _ => {
            let mut pos = at;
            while pos < doc.len()
                && !matches!(doc[pos], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                pos += 1;
            }
            match pos > at {
                true => Ok(pos),
                false => malformed("an unexpected character", at),
            }
        }
    }
}

/// The members of the object at `span` (which must start with `{`, whitespace allowed around).
pub fn members(doc: &[u8], span: Range<usize>) -> Result<Vec<Member>, Malformed> {
    let doc = &doc[..span.end];
    let mut at = skip_whitespace(doc, span.start);
    if doc.get(at) != Some(&b'{') {
        return malformed("an object was expected", at);
    }
    at = skip_whitespace(doc, at + 1);
    let mut found = Vec::new();
    if doc.get(at) == Some(&b'}') {
        return Ok(found);
    }
    loop {
        if doc.get(at) != Some(&b'"') {
            return malformed("a member name was expected", at);
        }
        let key_end = skip_string(doc, at)?;
        let key: String = serde_json::from_slice(&doc[at..key_end])
            .or_else(|_| malformed("an undecodable member name", at))?;
        let colon = skip_whitespace(doc, key_end);
        if doc.get(colon) != Some(&b':') {
            return malformed("':' was expected", colon);
        }
        let value_start = skip_whitespace(doc, colon + 1);
        let value_end = skip_value(doc, value_start)?;
        found.push(Member {
            key,
            whole: at..value_end,
            value: value_start..value_end,
        });
        at = skip_whitespace(doc, value_end);
        match doc.get(at) {
            Some(b',') => at = skip_whitespace(doc, at + 1),
            Some(b'}') => return Ok(found),
            _ => return malformed("',' or '}' was expected", at),
        }
    }
}

/// The elements of the array at `span`.
pub fn elements(doc: &[u8], span: Range<usize>) -> Result<Vec<Range<usize>>, Malformed> {
    let doc = &doc[..span.end];
    let mut at = skip_whitespace(doc, span.start);
    if doc.get(at) != Some(&b'[') {
        return malformed("an array was expected", at);
    }
    at = skip_whitespace(doc, at + 1);
    let mut found = Vec::new();
    if doc.get(at) == Some(&b']') {
        return Ok(found);
    }
    loop {
        let end = skip_value(doc, at)?;
        found.push(at..end);
        at = skip_whitespace(doc, end);
        match doc.get(at) {
            Some(b',') => at = skip_whitespace(doc, at + 1),
            Some(b']') => return Ok(found),
            _ => return malformed("',' or ']' was expected", at),
        }
    }
}

/// The whole document's span, checked to hold one value and nothing after it.
pub fn document(doc: &[u8]) -> Result<Range<usize>, Malformed> {
    let start = skip_whitespace(doc, 0);
    let end = skip_value(doc, start)?;
    match skip_whitespace(doc, end) == doc.len() {
        true => Ok(start..end),
        false => malformed("trailing bytes", end),
    }
}

/// Writes `open`, the given ranges of `doc` joined by `,`, and `close`.
pub fn join(
    doc: &[u8],
    open: u8,
    parts: impl IntoIterator<Item = Range<usize>>,
    close: u8,
    out: &mut Vec<u8>,
) {
    out.push(open);
    for (index, part) in parts.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&doc[part]);
    }
    out.push(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_elements_are_found_with_nesting_and_escapes() {
        let doc = br#" {"a": {"x": "}"}, "b\"c" :[1, "]", {"y":[]}], "d": -1.5e3 , "e":null} "#;
        let span = document(doc).unwrap();
        let found = members(doc, span).unwrap();
        let keys: Vec<&str> = found.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a", "b\"c", "d", "e"]);
        assert_eq!(&doc[found[0].value.clone()], br#"{"x": "}"}"#);
        assert_eq!(&doc[found[2].value.clone()], b"-1.5e3");
        let items = elements(doc, found[1].value.clone()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(&doc[items[1].clone()], br#""]""#);
        let mut out = Vec::new();
        join(
            doc,
            b'{',
            [found[0].whole.clone(), found[3].whole.clone()],
            b'}',
            &mut out,
        );
        assert_eq!(out, br#"{"a": {"x": "}"},"e":null}"#);
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":1,}",
            b"[1 2]",
            b"\"open",
            b"{}x",
            b"{\"a\":1]",
        ] {
            let result = document(bad).and_then(|span| members(bad, span).map(|_| ()));
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(100_000);
        assert!(document(deep.as_bytes()).is_err());
    }

    #[test]
    fn any_corruption_of_a_document_is_an_error_or_a_reading_never_a_panic() {
        let doc = br#"{"a":[1,{"b":"c\"d"}],"e":{"f":null}}"#;
        crate::testing::sweep(doc, |bytes| {
            if let Ok(span) = document(bytes) {
                if let Ok(found) = members(bytes, span) {
                    for member in found {
                        let _ = members(bytes, member.value.clone());
                        let _ = elements(bytes, member.value);
                    }
                }
            }
        });
    }
}
