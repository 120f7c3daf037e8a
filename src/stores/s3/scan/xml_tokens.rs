//! The tokens of a listing page body, for the streaming parse (`page_xml`;
//! pure). A strict subset of XML read in one pass over the borrowed body:
//! tags, text, comments and processing instructions. Anything outside it
//! (a body that is not UTF-8, CDATA, a doctype, an unknown entity, an
//! element name with a namespace prefix, an end tag that closes no open
//! element or the wrong one, a cut tag) is `None`, and the page goes to the
//! SDK's deserialiser.
//!
//! Why not a general XML reader: on millions of keys quick-xml's per-event
//! work (an event, an end-name check and a few `memchr` calls per field)
//! was most of the tool's CPU; a page needs only this much of XML.

use std::borrow::Cow;

/// One piece of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// `<name …>`: its name (attributes are skipped, never read).
    Start(&'a str),
    /// `<name …/>`.
    Empty(&'a str),
    /// `</name>`, closing the innermost open element (checked).
    End(&'a str),
    /// Text up to the next tag, never empty, its entities checked but not
    /// resolved (`unescape`).
    Text(Text<'a>),
    /// `<!-- … -->`.
    Comment,
    /// `<? … ?>`, the XML declaration included.
    Pi,
    /// The end of the body.
    Eof,
}

/// A run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a> {
    pub raw: &'a str,
    /// Neither an entity nor a carriage return in it (found while looking
    /// for its end): the text as it stands.
    pub plain: bool,
}

/// A cursor over a body.
#[derive(Debug)]
pub struct Tokens<'a> {
    src: &'a str,
    pos: usize,
    /// The names of the open elements, innermost last.
    open: Vec<&'a str>,
}

impl<'a> Tokens<'a> {
    /// `None` when the body is not UTF-8.
    pub fn new(body: &'a [u8]) -> Option<Tokens<'a>> {
        Some(Tokens {
            src: std::str::from_utf8(body).ok()?,
            pos: 0,
            open: Vec::new(),
        })
    }

    /// The next token, or `None` for anything outside the subset.
    pub fn next_token(&mut self) -> Option<Token<'a>> {
        let rest = self.src.get(self.pos..)?;
        let bytes = rest.as_bytes();
        let Some(&first) = bytes.first() else {
            return Some(Token::Eof);
        };
        if first != b'<' {
            let text = text_run(rest)?;
            self.pos += text.raw.len();
            return Some(Token::Text(text));
        }
        let (token, len) = match bytes.get(1)? {
            b'/' => self.end_tag(rest)?,
            b'!' if bytes.starts_with(b"<!--") => (Token::Comment, find_seq(bytes, b"-->", 4)? + 3),
            b'!' => return None, // CDATA, a doctype: left to the SDK
            b'?' => (Token::Pi, find_seq(bytes, b"?>", 2)? + 2),
            _ => self.start_tag(rest)?,
        };
        self.pos += len;
        Some(token)
    }

    /// `</name>` (optional white space before `>`) at the start of `rest`,
    /// `name` the innermost open element's.
    fn end_tag(&mut self, rest: &'a str) -> Option<(Token<'a>, usize)> {
        let open = self.open.pop()?;
        let bytes = rest.as_bytes();
        // Nearly always `</name>` exactly: no search for the `>`.
        let close = 2 + open.len();
        if bytes.get(2..close) == Some(open.as_bytes()) && bytes.get(close) == Some(&b'>') {
            return Some((Token::End(open), close + 1));
        }
        let close = memchr::memchr(b'>', bytes)?;
        let name = rest.get(2..close)?.trim_end_matches(is_space);
        (open == name).then_some((Token::End(name), close + 1))
    }

    /// `<name>`, `<name/>`, or either with attributes after white space, at
    /// the start of `rest`; quoted attribute values may hold `>` and `/`.
    fn start_tag(&mut self, rest: &'a str) -> Option<(Token<'a>, usize)> {
        let bytes = rest.as_bytes();
        let name_end = 1 + bytes[1..].iter().position(|&b| NAME_STOP[usize::from(b)])?;
        let name = rest.get(1..name_end).filter(|n| !n.is_empty())?;
        let (empty, close) = match bytes[name_end] {
            b'>' => (false, name_end),
            b'/' => (true, name_end + 1),
            b' ' | b'\t' | b'\n' | b'\r' => attributes_end(bytes, name_end)?,
            // `:` (a namespace prefix the SDK may read otherwise) or a
            // character no name holds.
            _ => return None,
        };
        if bytes.get(close) != Some(&b'>') {
            return None;
        }
        if empty {
            Some((Token::Empty(name), close + 1))
        } else {
            self.open.push(name);
            Some((Token::Start(name), close + 1))
        }
    }
}

/// Where a start tag's attributes end (`from`: the white space after its
/// name): whether the tag is empty (`/>`) and the index of its `>`.
fn attributes_end(bytes: &[u8], from: usize) -> Option<(bool, usize)> {
    let mut quote = None;
    let mut at = from;
    loop {
        let b = *bytes.get(at)?;
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return Some((false, at)),
            (None, b'/') if bytes.get(at + 1) == Some(&b'>') => return Some((true, at + 1)),
            (None, b'<') => return None,
            _ => {}
        }
        at += 1;
    }
}

/// The text at the start of `rest` up to the next tag (or the end).
fn text_run(rest: &str) -> Option<Text<'_>> {
    let bytes = rest.as_bytes();
    let mut end = 0;
    let mut plain = true;
    loop {
        match memchr::memchr3(b'<', b'&', b'\r', bytes.get(end..)?) {
            None => end = bytes.len(),
            Some(i) if bytes[end + i] == b'<' => end += i,
            Some(i) => {
                plain = false;
                end += i + 1;
                continue;
            }
        }
        let raw = rest.get(..end)?;
        if !plain && !entities_known(raw) {
            return None;
        }
        return Some(Text { raw, plain });
    }
}

/// Bytes that end an element name: white space, `/`, `>`, and those no
/// name may hold (`:` too: a prefixed name is left to the SDK).
const NAME_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let stops = b" \t\n\r/>\"'<=&:";
    let mut i = 0;
    while i < stops.len() {
        table[stops[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Where `seq` starts in `bytes`, looking from `from` on.
fn find_seq(bytes: &[u8], seq: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(seq.len())
        .position(|w| w == seq)
        .map(|i| from + i)
}

/// Whether every `&…;` in `text` is one `entity` knows (no allocation:
/// every ETag holds two `&quot;`).
fn entities_known(text: &str) -> bool {
    references(text, |_, _| {}).is_some()
}

/// Walks the references of `text`: `each` gets the text before each one
/// (from the end of the previous) and its character. Returns the text
/// after the last; `None` for an unknown or unterminated reference.
fn references<'t>(text: &'t str, mut each: impl FnMut(&'t str, char)) -> Option<&'t str> {
    let mut rest = text;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        let after = rest.get(amp + 1..)?;
        let semi = memchr::memchr(b';', after.as_bytes())?;
        each(rest.get(..amp)?, entity(after.get(..semi)?.as_bytes())?);
        rest = after.get(semi + 1..)?;
    }
    Some(rest)
}

/// `text` with its entities resolved: borrowed when it has none (nearly
/// always), `None` for an unknown or unterminated one.
pub fn unescape(text: &str) -> Option<Cow<'_, str>> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let tail = references(text, |before, c| {
        out.push_str(before);
        out.push(c);
    })?;
    out.push_str(tail);
    Some(Cow::Owned(out))
}

/// `&name;` or `&#n;` as one character: the five XML entities and
/// character references; anything else falls back.
fn entity(r: &[u8]) -> Option<char> {
    Some(match r {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x', hex @ ..] => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
        }
        [b'#', dec @ ..] => char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?)?,
        _ => return None,
    })
    .filter(|c| *c != '\0')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text(raw: &str, plain: bool) -> Token<'_> {
        Token::Text(Text { raw, plain })
    }

    fn all(body: &str) -> Option<Vec<Token<'_>>> {
        let mut tokens = Tokens::new(body.as_bytes())?;
        let mut out = Vec::new();
        loop {
            match tokens.next_token()? {
                Token::Eof => return Some(out),
                t => out.push(t),
            }
        }
    }

    #[test]
    fn a_small_document_in_tokens() {
        use Token::*;
        let body = "<?xml version=\"1.0\"?>\n<R xmlns=\"x>/\"><!-- c --><K>a&amp;b</K><E/><E a='1'/><S >t</S ></R>";
        assert_eq!(
            all(body),
            Some(vec![
                Pi,
                text("\n", true),
                Start("R"),
                Comment,
                Start("K"),
                text("a&amp;b", false),
                End("K"),
                Empty("E"),
                Empty("E"),
                Start("S"),
                text("t", true),
                End("S"),
                End("R"),
            ])
        );
    }

    #[test]
    fn markup_outside_the_subset_is_none() {
        for body in [
            "<R><![CDATA[x]]></R>",
            "<!DOCTYPE R><R/>",
            "<R><K>x</L></R>",
            "</R>",
            "<R><K>a&nbsp;b</K></R>",
            "<R><K>a & b</K></R>",
            "<R><K>a&amp</K></R>",
            "<R><K x=\"1\"",
            "<R><!-- cut",
            "<R><?pi",
            "<R/x>",
            "<R\"x\">",
            "<>",
            "<R><</R>",
            "<R><K>&amp;x;y&bad;</K></R>",
            "<R><s3:K>x</s3:K></R>",
            "<R><K/ ></R>",
        ] {
            assert_eq!(all(body), None, "{body}");
        }
        assert!(Tokens::new(b"<R>\xff</R>").is_none());
    }

    #[test]
    fn entities_and_character_references_resolve() {
        assert!(matches!(unescape("plain"), Some(Cow::Borrowed("plain"))));
        assert_eq!(
            unescape("&lt;a&gt; &amp; &quot;&apos; &#233;&#xE9;").as_deref(),
            Some("<a> & \"' éé")
        );
        assert_eq!(unescape("a&amp;x;y&amp;z").as_deref(), Some("a&x;y&z"));
        for bad in ["&#0;", "&#xZZ;", "&bogus;", "a&", "&#;", "&#x110000;"] {
            assert_eq!(unescape(bad), None, "{bad}");
        }
    }

    /// Drains the tokens of any input: it ends (every token moves on) and
    /// never panics.
    fn drain(body: &[u8]) {
        let Some(mut tokens) = Tokens::new(body) else {
            return;
        };
        for _ in 0..=body.len() {
            match tokens.next_token() {
                None | Some(Token::Eof) => return,
                Some(_) => {}
            }
        }
        panic!("more tokens than bytes: {}", String::from_utf8_lossy(body));
    }

    proptest! {
        #[test]
        fn any_bytes_tokenize_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            drain(&body);
        }

        #[test]
        fn markup_like_text_tokenizes_without_panicking(body in "[<>/!?a-zA-Z \t\r\n\"'&;#x0-9=:-]{0,80}") {
            drain(body.as_bytes());
        }
    }
}
