/** The library's records as the contract shows them (plain data a window or a socket can carry). */

import { type EmbeddingCatalogEntry, embeddingDownloadBytes } from "../../models/embedding-catalog.ts";
import type { InstalledEmbedding } from "../../models/embedding-store.ts";
import {
  type CatalogEntry,
  estimate,
  type DownloadInfo as LibraryDownload,
  type StoredModel,
} from "../../models/index.ts";
import type {
  CatalogItem,
  DownloadInfo,
  EmbeddingCatalogItem,
  EmbeddingModelInfo,
  ModelInfo,
} from "../api/contract.ts";

export function toModelInfo(model: StoredModel): ModelInfo {
  return {
    name: model.name,
    precision: model.precision,
    bytes: model.bytes,
    parameters: model.parameters,
    contextLength: model.contextLength,
    isDefault: model.isDefault,
    createdAt: model.createdAt,
    source: {
      path: model.source.path,
      repoId: model.source.repoId ?? null,
      managed: model.source.managed,
      present: model.source.present,
    },
  };
}

export function toCatalogItem(entry: CatalogEntry, installed: readonly StoredModel[]): CatalogItem {
  const repo = entry.repoId.toLowerCase();
  return {
    repoId: entry.repoId,
    slug: entry.slug,
    size: entry.size,
    instruct: entry.instruct,
    parameters: entry.parameters,
    contextLength: entry.contextLength,
    estimate: estimate(entry),
    installed: installed.filter((m) => m.source.repoId?.toLowerCase() === repo).map((m) => m.name),
  };
}

export function toDownloadInfo(download: LibraryDownload): DownloadInfo {
  return {
    repoId: download.repoId,
    complete: download.complete,
    presentBytes: download.presentBytes,
    totalBytes: download.totalBytes,
  };
}

export function toEmbeddingInfo(model: InstalledEmbedding): EmbeddingModelInfo {
  return {
    name: model.name,
    repoId: model.repoId,
    revision: model.revision,
    dims: model.dims,
    maxTokens: model.maxTokens,
    pooling: model.pooling,
    normalize: model.normalize,
    bytes: model.bytes,
    licence: model.licence,
    createdAt: model.createdAt,
  };
}

export function toEmbeddingCatalogItem(
  entry: EmbeddingCatalogEntry,
  installed: readonly InstalledEmbedding[],
): EmbeddingCatalogItem {
  return {
    repoId: entry.repoId,
    slug: entry.slug,
    name: entry.name,
    licence: entry.licence,
    parameters: entry.parameters,
    dims: entry.dims,
    maxTokens: entry.maxTokens,
    downloadBytes: embeddingDownloadBytes(entry),
    description: entry.description,
    installed: installed.some((m) => m.name === entry.slug),
  };
}
