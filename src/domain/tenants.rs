//! Tenants: one per customer company, each with its own tokens and data.

use serde::Serialize;
use validator::{Validate, ValidationError};

use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::Scope;

/// The tenant created on an empty database.
pub const DEFAULT_TENANT: &str = "default";

/// A tenant as the command line lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A new tenant with its first two tokens, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedTenant {
    pub tenant_id: String,
    pub scim_token: String,
    pub admin_token: String,
}

#[derive(Debug, Validate)]
struct TenantName<'a> {
    #[validate(
        length(min = 1, max = 64, message = "a tenant name has 1 to 64 characters"),
        custom(function = "slug")
    )]
    name: &'a str,
}

fn slug(name: &str) -> Result<(), ValidationError> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("slug")
            .with_message("a tenant name uses only letters, digits, `-`, `_` and `.`".into()))
    }
}

impl Domain {
    /// Creates a tenant with a `scim` and an `admin` token.
    pub async fn create_tenant(&self, name: &str) -> Result<CreatedTenant, DomainError> {
        TenantName { name }
            .validate()
            .map_err(|e| DomainError::invalid(e.to_string()))?;
        let tenant_id = uuid::Uuid::new_v4().to_string();
        let tx = self.store.begin().await?;
        tx.insert_tenant(&tenant_id, name, self.now()).await?;
        let scim = self
            .insert_token(&tx, &tenant_id, Scope::Scim, "initial SCIM token", None)
            .await?;
        let admin = self
            .insert_token(&tx, &tenant_id, Scope::Admin, "initial admin token", None)
            .await?;
        tx.commit().await?;
        Ok(CreatedTenant {
            tenant_id,
            scim_token: scim.secret,
            admin_token: admin.secret,
        })
    }

    /// Every tenant, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<TenantView>, DomainError> {
        Ok(self
            .store
            .tenants()
            .await?
            .into_iter()
            .map(|t| TenantView {
                id: t.id,
                name: t.name,
                created_at: format_millis(t.created_at),
            })
            .collect())
    }

    /// Whether the database has no tenant yet, so [`Domain::bootstrap`]
    /// would create one.
    pub async fn is_empty(&self) -> Result<bool, DomainError> {
        Ok(self.store.tenant_count().await? == 0)
    }

    /// On an empty database, creates the tenant `default`; otherwise nothing.
    pub async fn bootstrap(&self) -> Result<Option<CreatedTenant>, DomainError> {
        if self.store.tenant_count().await? > 0 {
            return Ok(None);
        }
        match self.create_tenant(DEFAULT_TENANT).await {
            Ok(created) => Ok(Some(created)),
            // Another process starting on the same database got there first.
            Err(DomainError::Invalid { .. }) if self.store.tenant_count().await? > 0 => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn tenant_id(&self, name: &str) -> Result<String, DomainError> {
        match self.store.tenant_by_name(name).await? {
            Some(tenant) => Ok(tenant.id),
            None => Err(DomainError::NotFound(format!(
                "no tenant is called `{name}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_short_slugs() {
        assert!(
            TenantName {
                name: "acme-corp.eu_1"
            }
            .validate()
            .is_ok()
        );
        assert!(TenantName { name: "" }.validate().is_err());
        assert!(TenantName { name: "acme corp" }.validate().is_err());
        assert!(
            TenantName {
                name: &"a".repeat(65)
            }
            .validate()
            .is_err()
        );
    }
}
