//! TEMPORARY shim until the real DomainName lands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);
#[derive(Debug, thiserror::Error)]
#[error("invalid name")]
pub struct NameError;
impl DomainName {
    pub fn parse(input: &str) -> Result<DomainName, NameError> {
        idna::domain_to_ascii(input.trim_end_matches('.')).map(DomainName).map_err(|_| NameError)
    }
    pub fn as_str(&self) -> &str { &self.0 }
}
