//! `xml_answers`: what the S3 client does with answers the SDK does not
//! expect. Any bytes: the truncation check, the listings' streaming parse
//! and the versioning reader never panic, and an answer is read as a
//! versioning status only when it is a complete versioning document (an
//! HTML page never is). A well-formed
//! document built from the fuzzer's bytes passes the truncation check,
//! and every cut of it that loses more than whitespace is refused.

use arbitrary::{Arbitrary, Unstructured};

use crate::stores::s3::complete_xml::{incomplete, root_element};
use crate::stores::s3::versioning::read_answer;

/// The check of the `xml_answers` target.
pub fn xml_answers(data: &[u8]) {
    let _ = incomplete(data);
    // The listings' streaming parse never panics (that it refuses every
    // cut of a page is `page_xml_tests::no_cut_of_a_page_parses`).
    let _ = crate::stores::s3::scan::fuzz_page_parse(data);
    let text = String::from_utf8_lossy(data);
    if read_answer(&text).is_some() {
        assert!(
            incomplete(data).is_none(),
            "a cut answer read as a versioning status"
        );
        assert!(
            matches!(
                root_element(text.trim()),
                Some("VersioningConfiguration" | "GetBucketVersioningResponse")
            ),
            "an answer that is no versioning document read as one"
        );
    }
    if let Ok(doc) = Document::arbitrary_take_rest(Unstructured::new(data)) {
        every_cut_is_refused(&doc.to_xml());
    }
}

fn every_cut_is_refused(full: &str) {
    assert_eq!(
        incomplete(full.as_bytes()),
        None,
        "a complete document refused: {full}"
    );
    let whole = full.trim();
    // Every cut of a short document; a sample of a long one's (quadratic).
    let step = full.len() / 1024 + 1;
    for (cut, _) in full.char_indices().step_by(step) {
        let part = &full[..cut];
        if part.trim().is_empty() || part.trim() == whole {
            continue;
        }
        assert!(
            incomplete(part.as_bytes()).is_some(),
            "a cut document accepted as complete: {part}"
        );
        if read_answer(part).is_some() {
            panic!("a cut versioning answer read as a status: {part}");
        }
    }
}

/// An element name: one S3 uses, or letters.
#[derive(Debug, Arbitrary)]
enum Name {
    ListBucketResult,
    Contents,
    Key,
    VersioningConfiguration,
    GetBucketVersioningResponse,
    Status,
    Html,
    Letters(Vec<bool>),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Letters(bits) => {
                let mut name: String = bits.iter().map(|b| if *b { 'a' } else { 'B' }).collect();
                name.insert(0, 'x');
                name
            }
            Name::Html => "html".to_string(),
            other => format!("{other:?}"),
        }
    }
}

/// Part of an element's content.
#[derive(Debug, Arbitrary)]
enum Node {
    Element(Element),
    Text(String),
    Comment(String),
    Cdata(String),
}

#[derive(Debug, Arbitrary)]
struct Element {
    name: Name,
    attributes: Vec<(Name, String)>,
    self_closing: bool,
    children: Vec<Node>,
}

#[derive(Debug, Arbitrary)]
struct Document {
    declaration: bool,
    comment: Option<String>,
    root: Element,
    /// Whitespace the server may send around the document.
    padding: (u8, u8),
}

impl Document {
    fn to_xml(&self) -> String {
        let mut out = " \n".repeat(usize::from(self.padding.0 % 3));
        if self.declaration {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        if let Some(comment) = &self.comment {
            out.push_str(&format!("<!--{}-->", safe_comment(comment)));
        }
        write_element(&self.root, &mut out, 4);
        out.push_str(&"\n".repeat(usize::from(self.padding.1 % 3)));
        out
    }
}

fn write_element(element: &Element, out: &mut String, depth: u32) {
    let name = element.name.text();
    out.push('<');
    out.push_str(&name);
    for (attribute, value) in &element.attributes {
        out.push_str(&format!(
            " {}=\"{}\"",
            attribute.text(),
            escape(value).replace('"', "&quot;")
        ));
    }
    if element.self_closing || depth == 0 {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &element.children {
        match child {
            Node::Element(e) => write_element(e, out, depth - 1),
            Node::Text(text) => out.push_str(&escape(text)),
            Node::Comment(text) => out.push_str(&format!("<!--{}-->", safe_comment(text))),
            Node::Cdata(text) => {
                let text = xml_chars(text).replace("]]>", "]]&gt;");
                out.push_str(&format!("<![CDATA[{text}]]>"));
            }
        }
    }
    out.push_str(&format!("</{name}>"));
}

/// Text as XML character data: '>' too, as two text nodes side by side
/// could otherwise spell `]]>`, which XML forbids in text.
fn escape(text: &str) -> String {
    xml_chars(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn safe_comment(text: &str) -> String {
    xml_chars(text).replace('-', "_")
}

/// `text` without the characters XML forbids anywhere (NUL and the other
/// controls but tab and line ends, U+FFFE, U+FFFF): the tokenizer refuses
/// a document holding one, so it would not be well-formed.
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect()
}
