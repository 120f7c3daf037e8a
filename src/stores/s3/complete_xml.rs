//! Refusing truncated answers: an interceptor on the S3 client that turns a
//! `2xx` response whose XML document ends before its root element closes
//! into a (retried) response error.
//!
//! Why: the SDK's XML parser reads a cut document without complaint, so a
//! listing truncated mid-way (by a proxy, a load balancer, a crashed
//! server) with a `Content-Length` that matches the cut body parses as a
//! shorter listing with no continuation, and a scan would report it as
//! complete. Measured with the fault proxy: `report` counted 0 expired
//! traces out of 5. The same holds for a cut lifecycle configuration
//! (read-modify-write would drop rules) and a cut DeleteObjects result
//! (per-key errors would vanish).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Set by a response deserialiser that has itself read the current
/// attempt's body to the close of its root element (the listings' streaming
/// parse), so the check below need not scan the same bytes again: on a
/// listing of millions of keys that second scan cost as much CPU as the
/// parse. Put it in the request's configuration; whoever sets it clears it
/// at the start of every attempt.
#[derive(Debug, Clone, Default)]
pub struct ReadWhole(Arc<AtomicBool>);

impl ReadWhole {
    /// Records whether this attempt's body was read whole.
    pub fn set(&self, whole: bool) {
        self.0.store(whole, Ordering::Release);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Storable for ReadWhole {
    type Storer = StoreReplace<Self>;
}

/// The interceptor; add it to every S3 client.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompleteXml;

impl Intercept for CompleteXml {
    fn name(&self) -> &'static str {
        "CompleteXml"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        if !response.status().is_success() || cfg.load::<ReadWhole>().is_some_and(ReadWhole::get) {
            return Ok(());
        }
        // Streaming bodies (GetObject) are not in memory and not parsed here.
        let Some(problem) = response.body().bytes().and_then(incomplete) else {
            return Ok(());
        };
        if matches!(context.output_or_error(), Some(Ok(_))) {
            // A response error is transient: the SDK retries the request.
            context
                .inner_mut()
                .set_output_or_error(Err(OrchestratorError::response(problem.into())));
        }
        Ok(())
    }
}

/// Why `body` is an incomplete XML document, or `None` when it is complete
/// (or not XML at all: empty bodies, JSON policies). Complete means the
/// root element is closed: the tags are counted, so a cut right after a
/// nested element (`<a><b/>`, `<a><a></a>`) is refused too.
pub fn incomplete(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if !text.starts_with('<') {
        return None;
    }
    let Some(root) = root_element(text) else {
        return Some("the answer was cut before its XML root element".into());
    };
    if root_closes(text) {
        return None;
    }
    Some(format!(
        "the answer was cut: its XML document ends before </{root}> ({} bytes received)",
        body.len()
    ))
}

/// The name of the first element, after the declaration, comments and
/// doctype.
pub fn root_element(text: &str) -> Option<&str> {
    tags(text).into_iter().find_map(element)
}

/// Whether the first element is closed, by its end tag or as `<x/>`.
fn root_closes(text: &str) -> bool {
    let mut depth = 0usize;
    for tag in tags(text) {
        if tag.starts_with("</") {
            match depth.checked_sub(1) {
                Some(0) => return true,
                Some(d) => depth = d,
                // An end tag before any start: not a document we trust.
                None => return false,
            }
        } else if element(tag).is_some() {
            if !tag.ends_with("/>") {
                depth += 1;
            } else if depth == 0 {
                return true;
            }
        }
    }
    false
}

/// The markup of `text` in order, each from its `<` to its `>`; comments,
/// CDATA sections and processing instructions whole, quoted attribute
/// values skipped (they may hold `>`). A cut tag at the end is left out.
fn tags(text: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let Some(len) = tag_len(rest) else {
            break;
        };
        tags.push(&rest[..len]);
        rest = &rest[len..];
    }
    tags
}

/// The length of the markup `text` starts with, or `None` when it is cut.
fn tag_len(text: &str) -> Option<usize> {
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")] {
        if let Some(inner) = text.strip_prefix(open) {
            return inner.find(close).map(|i| open.len() + i + close.len());
        }
    }
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The element name of a start or empty-element tag (`None` for end tags,
/// comments, declarations).
fn element(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix('<')?;
    if inner.starts_with(['/', '!', '?']) {
        return None;
    }
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(inner.len());
    Some(&inner[..end]).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::incomplete;

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

    #[test]
    fn complete_documents_and_other_bodies_pass() {
        let full = format!(
            "{DECL}\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Contents><Key>k</Key></Contents></ListBucketResult>\n"
        );
        for body in [
            full.as_str(),
            "",
            "{\"Version\":\"2012-10-17\"}",
            "<DeleteResult/>",
            "<?xml version=\"1.0\"?><DeleteResult xmlns=\"x\"/>",
            "<!-- note --><Tagging><TagSet></TagSet></Tagging>",
        ] {
            assert_eq!(incomplete(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn cut_documents_are_refused() {
        let full = format!(
            "{DECL}<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><Contents><Key>k</Key></Contents></ListBucketResult>"
        );
        for cut in [10, DECL.len(), DECL.len() + 5, 60, 100, full.len() - 1] {
            let body = &full.as_bytes()[..cut];
            assert!(
                incomplete(body).is_some(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(
            incomplete(b"<DeleteResult><Error><Key>a</Key>")
                .is_some_and(|why| why.contains("</DeleteResult>"))
        );
    }

    /// Found by the `xml_answers` fuzz target: markup inside a comment or
    /// an attribute, and cuts right after a nested element, fooled the
    /// check into passing cut documents (or refusing complete ones).
    #[test]
    fn nesting_comments_and_attributes_are_read_as_xml() {
        let complete = [
            "<!-- <Error> --><ListBucketResult><Name>b</Name></ListBucketResult>",
            "<a x=\"/>\"><b/></a>",
            "<a><a></a></a>",
            "<a><![CDATA[</a>]]></a>",
        ];
        for body in complete {
            assert_eq!(incomplete(body.as_bytes()), None, "{body}");
        }
        let cut = [
            "<a><b/>",
            "<a><a></a>",
            "<a x=\"/>",
            "<a><![CDATA[</a>",
            "<!-- <a/> -->",
            "<ListBucketResult><Name/>",
        ];
        for body in cut {
            assert!(incomplete(body.as_bytes()).is_some(), "{body}");
        }
    }
}
