pub fn parse_kv(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once('=')?;
    Some((k.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::parse_kv;

    #[test]
    fn splits_at_the_first_equals_sign() {
        assert_eq!(parse_kv("a = b=c"), Some(("a", "b=c")));
    }

    #[test]
    fn no_equals_sign_is_none() {
        assert_eq!(parse_kv("just text"), None);
    }
}
