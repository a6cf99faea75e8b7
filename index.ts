/** The public API of pulumi-keyvault-backup. */
export {
    SecretBackup, SECRET_BACKUP_TYPE, type SecretBackupArgs, type KeyVaultSecretLike,
    KeyBackup, KEY_BACKUP_TYPE, type KeyBackupArgs, type KeyVaultKeyLike,
    CertificateBackup, CERTIFICATE_BACKUP_TYPE, type CertificateBackupArgs, type ObjectBackupArgs,
} from "./provider/resource";
export { KINDS, OBJECT_KINDS, type ObjectKind, type KindInfo } from "./provider/kinds";
export { SUPPORTED_API_VERSIONS, DEFAULT_API_VERSION, DEFAULT_DESTINATION, type ApiVersion } from "./provider/validate";
export type { BackupOutputs } from "./provider/operations";
export { VaultBackup, VAULT_BACKUP_TYPE, type VaultBackupArgs } from "./provider/vault-backup";
export { verifyBackup, BackupVerificationError, BackupInputError, type VerifyOptions, type VerifiedBackup, type VerificationFailure } from "./provider/verify";
export { restoreBackup, RestoreError, type RestoreArgs, type RestoredSecret } from "./provider/restore";
export { listBackups, type ListBackupsOptions, type BackupListing, type ObjectBackups, type ObjectVerification } from "./provider/recovery/list";
export type { StoredBackup, ForeignEntry } from "./provider/recovery/catalog";
export {
    restoreVault,
    DEFAULT_RESTORES_PER_10_SECONDS,
    type RestoreVaultArgs,
    type RestoreVaultResult,
    type ObjectRestoreOutcome,
    type RestoreProgress,
} from "./provider/recovery/restore-vault";
export { pruneBackups, type PruneArgs, type PruneResult, type PruneCandidate } from "./provider/recovery/prune";
/**
 * The provider plugin's resources (`keyvault-backup:index:*`), served by the plugin
 * `pulumi-resource-keyvault-backup` in this package's `plugin/` folder: the same inputs and
 * outputs as the dynamic resources above, and the same resources other Pulumi languages use.
 */
export * as plugin from "./provider/plugin/resources";
export { PACKAGE_NAME, PACKAGE_VERSION } from "./provider/plugin/tokens";
