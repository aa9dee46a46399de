"""IAM Roles for Service Accounts for self-managed Kubernetes clusters."""
