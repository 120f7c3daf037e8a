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
use xmlparser::{ElementEnd, StrSpan, Token, Tokenizer};

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
/// root element is closed: the document is read with the tokenizer the
/// SDK's own XML parser uses (`xmlparser`), so comments, CDATA sections and
/// quoted attribute values are markup to it as they are to the SDK, and a
/// cut right after a nested element (`<a><b/>`, `<a><a></a>`) is refused
/// too. What the tokenizer cannot read before the root closes (a cut tag,
/// a character XML forbids) is refused as well: the SDK could not read it
/// either.
pub fn incomplete(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if !text.starts_with('<') {
        return None;
    }
    let mut root = None;
    let mut depth = 0usize;
    for token in Tokenizer::from(text) {
        let token = match token {
            Ok(token) => token,
            Err(e) => {
                return Some(match root {
                    None => format!("the answer was cut before its XML root element ({e})"),
                    Some(root) => format!(
                        "the answer is not a whole XML document: {e} before </{root}> ({} bytes received)",
                        body.len()
                    ),
                });
            }
        };
        match token {
            Token::ElementStart { span, .. } => {
                root.get_or_insert_with(|| element_name(span));
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => depth += 1,
                // `<x/>` at the top is the whole root.
                ElementEnd::Empty if depth == 0 => return None,
                ElementEnd::Empty => {}
                ElementEnd::Close(..) => match depth.checked_sub(1) {
                    Some(0) => return None,
                    Some(d) => depth = d,
                    // An end tag before any start: not a document we trust.
                    None => return Some("the answer closes an XML element it never opened".into()),
                },
            },
            _ => {}
        }
    }
    Some(match root {
        None => "the answer was cut before its XML root element".into(),
        Some(root) => format!(
            "the answer was cut: its XML document ends before </{root}> ({} bytes received)",
            body.len()
        ),
    })
}

/// The name of the first element, after the declaration, comments and
/// doctype (`None` when the text cannot be read that far).
pub fn root_element(text: &str) -> Option<&str> {
    Tokenizer::from(text)
        .map_while(Result::ok)
        .find_map(|token| match token {
            Token::ElementStart { span, .. } => Some(element_name(span)),
            _ => None,
        })
}

/// The qualified name of a start tag from its span (`<s3:Name` gives
/// `s3:Name`).
fn element_name<'a>(start_tag: StrSpan<'a>) -> &'a str {
    start_tag.as_str().trim_start_matches('<')
}

#[cfg(test)]
mod tests {
    use super::{incomplete, root_element};

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

    /// What the hand-written tag counter got wrong: markup inside comments,
    /// CDATA sections and processing instructions is text, never tags, and
    /// what XML forbids (`]]>` in text, a NUL) is no complete document.
    #[test]
    fn comments_cdata_and_instructions_hide_no_tags() {
        let complete = [
            "<a><!-- </a> --></a>",
            "<a><!-- <b> --></a>",
            "<!-- a > b --><a/>",
            "<a><![CDATA[<b>]]></a>",
            "<a><![CDATA[-->]]></a>",
            "<a><![CDATA[<!--]]></a>",
            "<a><?pi </a> ?></a>",
            "<?xml version=\"1.0\"?>\n<!-- c --><!DOCTYPE a><a>x</a>",
        ];
        for body in complete {
            assert_eq!(incomplete(body.as_bytes()), None, "{body}");
        }
        let refused = [
            "<a><!-- </a> -->",
            "<a><![CDATA[</a>]]>",
            "<a><!-- </a>",
            "<a><![CDATA[ ]]",
            "<a><![CDATA[ --></a>",
            "<!-- <a></a> --><b>",
            "<a><?pi </a>",
            "<a>]]></a>",
            "<a>\u{0}</a>",
        ];
        for body in refused {
            assert!(incomplete(body.as_bytes()).is_some(), "{body}");
        }
    }

    #[test]
    fn the_root_element_is_the_first_start_tag() {
        assert_eq!(
            root_element(
                "<?xml version=\"1.0\"?><!-- <Error> --><s3:ListBucketResult xmlns:s3=\"x\">"
            ),
            Some("s3:ListBucketResult")
        );
        assert_eq!(root_element("<!-- <Error> -->"), None);
    }
}
