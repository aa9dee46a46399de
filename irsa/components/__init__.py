"""One Pulumi ComponentResource per concern."""
