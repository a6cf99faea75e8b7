// Backs up a Key Vault from Go: every secret, key and certificate (VaultBackup), and one secret on
// its own (SecretBackup), through the keyvault-backup provider plugin.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	keyvaultbackup "pulumi-keyvault-backup/sdk/go/keyvaultbackup"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		vaultURL := cfg.Require("vaultUrl")
		destination := cfg.Get("destination")
		if destination == "" {
			destination = "./backups"
		}
		var apiVersion pulumi.StringPtrInput
		if v := cfg.Get("apiVersion"); v != "" {
			apiVersion = pulumi.String(v)
		}

		vault, err := keyvaultbackup.NewVaultBackup(ctx, "vault", &keyvaultbackup.VaultBackupArgs{
			VaultUrl:    pulumi.String(vaultURL),
			Destination: pulumi.String(destination),
			ApiVersion:  apiVersion,
		})
		if err != nil {
			return err
		}

		appSecret, err := keyvaultbackup.NewSecretBackup(ctx, "app-secret", &keyvaultbackup.SecretBackupArgs{
			VaultUrl:    pulumi.String(vaultURL),
			SecretName:  pulumi.String(cfg.Require("secretName")),
			Destination: pulumi.String(destination),
			ApiVersion:  apiVersion,
		})
		if err != nil {
			return err
		}

		ctx.Export("secretNames", vault.SecretNames)
		ctx.Export("objects", vault.Objects)
		ctx.Export("appSecret", pulumi.Map{
			"location":  appSecret.Location,
			"sha256":    appSecret.Sha256,
			"sizeBytes": appSecret.SizeBytes,
		})
		return nil
	})
}
