/** The public API of pulumi-keyvault-backup. */
export { SecretBackup, SECRET_BACKUP_TYPE, type SecretBackupArgs, type KeyVaultSecretLike } from "./provider/resource";
export { SUPPORTED_API_VERSIONS, DEFAULT_API_VERSION, DEFAULT_DESTINATION, type ApiVersion } from "./provider/validate";
export type { BackupOutputs } from "./provider/operations";
