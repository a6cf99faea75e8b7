"""Backs up a Key Vault from Python: every secret, key and certificate (VaultBackup), and one
secret on its own (SecretBackup), through the keyvault-backup provider plugin."""
import pulumi
import pulumi_keyvault_backup as keyvault_backup

config = pulumi.Config()
vault_url = config.require("vaultUrl")
destination = config.get("destination") or "./backups"
api_version = config.get("apiVersion")

vault = keyvault_backup.VaultBackup(
    "vault",
    vault_url=vault_url,
    destination=destination,
    api_version=api_version,
)

app_secret = keyvault_backup.SecretBackup(
    "app-secret",
    vault_url=vault_url,
    secret_name=config.require("secretName"),
    destination=destination,
    api_version=api_version,
)

pulumi.export("secretNames", vault.secret_names)
pulumi.export("objects", vault.objects)
pulumi.export("appSecret", {"location": app_secret.location, "sha256": app_secret.sha256, "sizeBytes": app_secret.size_bytes})
