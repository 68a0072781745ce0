//! How an SSE-KMS bucket answers, for the test proxy's SSE-KMS mode
//! ([`FaultProxy::sse_kms`](super::proxy::FaultProxy::sse_kms)): every ETag (headers of
//! PUT, GET, HEAD answers; `<ETag>` elements of CopyObject and ListObjectsV2 answers) is
//! 32 hex digits that are not the MD5 of the object's bytes, and every object answer says
//! `x-amz-server-side-encryption: aws:kms`.

use md5::{Digest, Md5};

/// The header SSE-KMS object answers carry, and its value.
pub const SSE_HEADER: (&str, &str) = ("x-amz-server-side-encryption", "aws:kms");

/// The ETag the "KMS bucket" gives an object whose real (MD5) ETag is `etag`: 32 hex
/// digits, the same for the same object in every answer, never its MD5.
pub fn kms_etag(etag: &str) -> String {
    let digest = Md5::digest(format!("sse-kms:{}", etag.to_ascii_lowercase()));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// An ETag header value (`"hex"`) rewritten.
pub fn rewrite_header(value: &str) -> String {
    format!("\"{}\"", kms_etag(value.trim_matches('"')))
}

/// Every `<ETag>` element of an XML answer rewritten (quotes kept as the server wrote
/// them: `"` or `&quot;`); the body keeps its length.
pub fn rewrite_xml(body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<ETag>") {
        let (before, after) = rest.split_at(start + "<ETag>".len());
        out.push_str(before);
        let Some(end) = after.find("</ETag>") else {
            rest = after;
            break;
        };
        let inner = &after[..end];
        let quote = if inner.starts_with("&quot;") {
            "&quot;"
        } else if inner.starts_with('"') {
            "\""
        } else {
            ""
        };
        let bare = inner
            .strip_prefix(quote)
            .and_then(|i| i.strip_suffix(quote))
            .unwrap_or(inner);
        out.push_str(&format!("{quote}{}{quote}", kms_etag(bare)));
        rest = &after[end..];
    }
    out.push_str(rest);
    out.into_bytes()
}

#[test]
fn etags_are_rewritten_consistently() {
    let md5 = "900150983cd24fb0d6963f7d28e17f72";
    let new = kms_etag(md5);
    assert_eq!(new.len(), 32);
    assert_ne!(new, md5);
    assert_eq!(rewrite_header(&format!("\"{md5}\"")), format!("\"{new}\""));
    let xml = format!(
        "<a><ETag>&quot;{md5}&quot;</ETag><ETag>\"{}\"</ETag></a>",
        md5.to_uppercase()
    );
    let out = String::from_utf8(rewrite_xml(xml.as_bytes())).unwrap();
    assert_eq!(
        out,
        format!("<a><ETag>&quot;{new}&quot;</ETag><ETag>\"{new}\"</ETag></a>")
    );
}
