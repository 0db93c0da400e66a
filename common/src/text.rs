//! Text cut to a size for where size is bounded (AMQP headers, events, conditions), always on
//! a character boundary and marked with `…` where it was cut.

/// The first `max` bytes of `s` (fewer, to end on a character boundary), `…` appended when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The last `max` bytes of `s` (fewer, to start on a character boundary), `…` prepended when cut.
pub fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_and_tails_cut_on_character_boundaries() {
        assert_eq!(excerpt("héllo", 2), "h…");
        assert_eq!(excerpt("héllo", 3), "hé…");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(tail("héllo", 4), "…llo");
        assert_eq!(tail("abc", 4), "abc");
    }
}
