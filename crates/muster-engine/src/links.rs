//! Signed acknowledgement links: `{public}/ack/{page}?exp={unix}&sig={hmac}`. GET shows a
//! confirmation page (mail scanners follow links), POST acknowledges. No API token is needed; the
//! signature is the key, and it expires.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// How long a link in a page works.
pub const LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 7);

fn mac(key: &str, page_id: &str, exp: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(format!("ack:{page_id}:{exp}").as_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The acknowledgement link of a page.
pub fn ack_link(public_url: &str, key: &str, page_id: &str, now: Timestamp) -> String {
    let exp = (now + LINK_LIFETIME).as_second();
    format!("{}/ack/{page_id}?exp={exp}&sig={}", public_url.trim_end_matches('/'), mac(key, page_id, exp))
}

/// Whether a link's signature is right and it has not expired.
pub fn verify(key: &str, page_id: &str, exp: i64, sig: &str, now: Timestamp) -> bool {
    let expected = mac(key, page_id, exp);
    let same =
        expected.len() == sig.len() && expected.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    same && now.as_second() <= exp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_until_they_expire() {
        let now: Timestamp = "2026-11-23T10:00:00Z".parse().expect("valid");
        let link = ack_link("https://m.example/", "k", "p1", now);
        let q = link.split_once('?').expect("query").1;
        let exp: i64 =
            q.split('&').next().and_then(|p| p.strip_prefix("exp=")).and_then(|e| e.parse().ok()).expect("exp");
        let sig = q.split("sig=").nth(1).expect("sig");
        assert!(link.starts_with("https://m.example/ack/p1?"));
        assert!(verify("k", "p1", exp, sig, now));
        assert!(!verify("k", "p2", exp, sig, now), "bound to its page");
        assert!(!verify("other", "p1", exp, sig, now), "bound to the key");
        assert!(!verify("k", "p1", exp + 1, sig, now), "the expiry is signed");
        assert!(!verify("k", "p1", exp, sig, now + LINK_LIFETIME + SignedDuration::from_secs(1)), "expires");
    }
}
