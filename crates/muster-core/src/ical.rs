//! iCalendar (RFC 5545) feeds of on-call shifts.

use jiff::Timestamp;

/// One event of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalEvent {
    /// Stable across fetches, so calendar apps update events instead of duplicating them.
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub description: String,
}

/// A whole VCALENDAR, with CRLF line endings and lines folded at 75 octets.
pub fn calendar(name: &str, events: &[CalEvent], now: Timestamp) -> String {
    let mut out = String::new();
    let mut line = |s: String| fold(&mut out, &s);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Muster//On-call//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&e.uid)));
        line(format!("DTSTAMP:{}", utc(now)));
        line(format!("DTSTART:{}", utc(e.start)));
        line(format!("DTEND:{}", utc(e.end)));
        line(format!("SUMMARY:{}", escape(&e.summary)));
        line(format!("DESCRIPTION:{}", escape(&e.description)));
        line("TRANSP:OPAQUE".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// `20261123T090000Z`
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT values (RFC 5545 3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes a content line, folded so no physical line exceeds 75 octets (RFC 5545 3.1), never
/// splitting a UTF-8 character.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded_escaped_and_crlf() {
        let t: Timestamp = "2026-11-23T09:00:00Z".parse().expect("valid");
        let long = "é".repeat(60);
        let cal = calendar(
            "Primary, EU",
            &[CalEvent { uid: "u1".into(), start: t, end: t, summary: "On call; ann".into(), description: long }],
            t,
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(cal.contains("X-WR-CALNAME:Primary\\, EU\r\n"));
        assert!(cal.contains("SUMMARY:On call\\; ann\r\n"));
        assert!(cal.contains("DTSTART:20261123T090000Z\r\n"));
        assert!(cal.split("\r\n").all(|l| l.len() <= 75), "folded");
        assert!(!cal.replace("\r\n", "").contains('\n'), "only CRLF");
    }
}
