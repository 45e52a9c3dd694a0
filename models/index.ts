/** The model library's public surface, for the service, the local API and the CLI. */
export {
  CATALOG,
  type CatalogEntry,
  DEFAULT_PRECISION,
  type Estimate,
  estimate,
  findCatalogEntry,
  formatBytes,
  type Precision,
  recommendedModel,
} from "./catalog.ts";
export type { FreeSpaceProbe } from "./disk.ts";
export { HubClient, type HubClientOptions, hubOptionsFromEnv } from "./hub-client.ts";
export {
  type DownloadInfo,
  defaultModelName,
  type ImportOptions,
  type ImportResult,
  type KeptSource,
  type LibraryOptions,
  ModelLibrary,
  type PullOptions,
  type PullResult,
  type RemoveResult,
  type RemoveSourceResult,
} from "./library.ts";
export type { LibraryProgress, ProgressListener } from "./progress.ts";
export {
  type BrokenModel,
  type ModelSource,
  ModelStore,
  resolveModelDir,
  type StoredModel,
  type StoreListing,
} from "./store.ts";
export {
  assertFitsMode,
  type DestinationReport,
  inspectDestination,
  type MoveResult,
  type MoveStep,
  moveModelStore,
  recoverModelStoreMove,
} from "./store-move.ts";
