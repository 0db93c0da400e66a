//! Injected failures: the next N matching requests answer an error instead of being served.

/// One armed failure.
#[derive(Debug, Clone)]
struct Fault {
    /// Upper-case method, or `*` for any.
    method: String,
    /// Matched against the path and query (`/api/v1/namespaces?watch=true`).
    target_contains: String,
    code: u16,
    remaining: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Fault>,
}

impl Faults {
    pub(crate) fn arm(&mut self, method: &str, target_contains: &str, code: u16, count: usize) {
        if count > 0 {
            self.armed.push(Fault {
                method: method.to_ascii_uppercase(),
                target_contains: target_contains.to_string(),
                code,
                remaining: count,
            });
        }
    }

    /// The code to fail this request with, counting it against the first matching fault.
    pub(crate) fn take(&mut self, method: &str, target: &str) -> Option<u16> {
        let index = self.armed.iter().position(|f| {
            (f.method == "*" || f.method.eq_ignore_ascii_case(method)) && target.contains(&f.target_contains)
        })?;
        let fault = &mut self.armed[index];
        let code = fault.code;
        fault.remaining -= 1;
        if fault.remaining == 0 {
            self.armed.remove(index);
        }
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fails_exactly_count_matching_requests() {
        let mut faults = Faults::default();
        faults.arm("patch", "/namespaces/c1", 500, 2);
        assert_eq!(faults.take("GET", "/api/v1/namespaces/c1"), None);
        assert_eq!(faults.take("PATCH", "/api/v1/namespaces/c1?fieldManager=x"), Some(500));
        assert_eq!(faults.take("PATCH", "/api/v1/namespaces/c1"), Some(500));
        assert_eq!(faults.take("PATCH", "/api/v1/namespaces/c1"), None);
    }

    #[test]
    fn a_wildcard_method_matches_any_request() {
        let mut faults = Faults::default();
        faults.arm("*", "watch=true", 503, 1);
        assert_eq!(faults.take("GET", "/api/v1/events?watch=true"), Some(503));
    }
}
